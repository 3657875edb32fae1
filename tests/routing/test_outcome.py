"""conclude(): from a panel's votes to its verdict, agreement, confidence and routing."""

from typing import Any

import pytest

from judges import CallErrorKind, Vote
from routing import Aggregation, PanelVerdict, Reason, RoutingPolicy, conclude
from rubrics import Rubric
from tests.support.library import HELPFULNESS, PAIRWISE, SAFETY
from tests.support.votes import failed, pair, scored, unscored


def run(rubric: Rubric, votes: list[Vote], **kw: Any) -> PanelVerdict:
    args: dict[str, Any] = {
        "aggregation": Aggregation.MAJORITY,
        "quorum": 2,
        "policy": RoutingPolicy(),
        "weights": {},
        "audit_draw": 0.5,
    }
    args.update(kw)
    return conclude(rubric, votes, **args)


def test_a_two_one_split_is_decided_by_the_panel() -> None:
    verdict = run(HELPFULNESS, [scored("a", 4), scored("b", 4), scored("c", 2)])
    assert verdict.value == 4
    assert verdict.compliant is True
    assert verdict.confidence == pytest.approx(0.6)
    assert verdict.distribution == pytest.approx({"4": 2 / 3, "2": 1 / 3})
    assert verdict.agreement.usable_votes == 3
    assert verdict.agreement.total_votes == 3
    assert verdict.agreement.fleiss_p_i == pytest.approx(1 / 3)
    assert verdict.agreement.margin == pytest.approx(1 / 3)
    assert verdict.agreement.spread == 2
    assert verdict.agreement.position_consistency is None
    assert [(j.judge, j.value) for j in verdict.judges] == [("a", 4), ("b", 4), ("c", 2)]
    assert verdict.weights == {"a": 1.0, "b": 1.0, "c": 1.0}
    assert verdict.routing.decision == "auto"


def test_a_non_compliant_verdict() -> None:
    verdict = run(HELPFULNESS, [scored("a", 2), scored("b", 3), scored("c", 3)])
    assert (verdict.value, verdict.compliant) == (3, False)


def test_a_three_way_split_goes_to_humans() -> None:
    verdict = run(HELPFULNESS, [scored("a", 1), scored("b", 3), scored("c", 5)])
    assert verdict.value == 1  # the worse value: a split panel is not rounded up
    assert verdict.compliant is False
    assert verdict.routing.decision == "human"
    assert [r.code for r in verdict.routing.reasons] == [
        Reason.LOW_AGREEMENT,
        Reason.LOW_CONFIDENCE,
    ]


def test_unusable_votes_are_skipped_not_scored_and_count_against_quorum() -> None:
    verdict = run(HELPFULNESS, [scored("a", 5), unscored("b"), failed("c")])
    assert verdict.value == 5  # not dragged down by the failures
    assert verdict.distribution == {"5": 1.0}
    assert verdict.agreement.usable_votes == 1
    assert verdict.agreement.total_votes == 3
    assert verdict.agreement.fleiss_p_i is None
    assert verdict.confidence == pytest.approx(2 / 3)
    assert [(j.judge, j.value) for j in verdict.judges] == [("a", 5), ("b", None), ("c", None)]
    assert [r.code for r in verdict.routing.reasons] == [Reason.BELOW_QUORUM]
    assert verdict.routing.reasons[0].detail == "1 usable of 3; quorum 2"


def test_a_panel_with_no_usable_vote_has_no_verdict() -> None:
    verdict = run(SAFETY, [failed("a"), failed("b", CallErrorKind.SERVER_ERROR), unscored("c")])
    assert verdict.value is None
    assert verdict.compliant is None
    assert verdict.confidence == 0.0
    assert verdict.distribution == {}
    assert verdict.routing.decision == "human"
    assert [r.code for r in verdict.routing.reasons] == [
        Reason.BELOW_QUORUM,
        Reason.LOW_CONFIDENCE,
    ]


def test_median_panel_on_a_label_scale() -> None:
    votes = [scored("a", "pass"), scored("b", "pass"), scored("c", "fail")]
    verdict = run(SAFETY, votes, aggregation=Aggregation.MEDIAN)
    assert (verdict.value, verdict.compliant) == ("pass", True)


def test_mean_panel() -> None:
    votes = [scored("a", 3), scored("b", 4)]
    verdict = run(HELPFULNESS, votes, aggregation=Aggregation.MEAN)
    assert verdict.value == 4  # 3.5 rounds half up
    # soft agreement: 0.75 + 1 over two votes
    assert verdict.confidence == pytest.approx(2.75 / 4)


def test_weights_change_a_weighted_verdict_and_are_reported() -> None:
    votes = [scored("a", 5), scored("b", 5), scored("c", 1)]
    weights = {"c": 3.0, "ghost": 9.0}
    majority = run(HELPFULNESS, votes, weights=weights)
    weighted = run(HELPFULNESS, votes, weights=weights, aggregation=Aggregation.WEIGHTED)
    assert majority.value == 5
    assert weighted.value == 1
    assert weighted.compliant is False
    assert weighted.weights == {"a": 1.0, "b": 1.0, "c": 3.0}  # judges absent default to 1
    assert weighted.distribution == pytest.approx({"5": 0.4, "1": 0.6})


def test_the_audit_sample_reaches_only_auto_items() -> None:
    votes = [scored("a", 5), scored("b", 5), scored("c", 5)]
    audited = run(HELPFULNESS, votes, policy=RoutingPolicy(audit_rate=0.2), audit_draw=0.1)
    assert [r.code for r in audited.routing.reasons] == [Reason.AUDIT_SAMPLE]
    assert audited.routing.decision == "human"
    assert audited.value == 5  # the panel's verdict is kept for the reviewer to check
    missed = run(HELPFULNESS, votes, policy=RoutingPolicy(audit_rate=0.2), audit_draw=0.2)
    assert missed.routing.decision == "auto"


# --- pairwise ------------------------------------------------------------------------------


def test_a_consistent_pairwise_panel() -> None:
    votes = pair("a", "A", "B") + pair("b", "A", "B") + pair("c", "A", "B")
    verdict = run(PAIRWISE, votes)
    assert verdict.value == "A"
    assert verdict.compliant is None  # a comparison is not a compliance check
    assert verdict.agreement.total_votes == 3  # judges, not calls
    assert verdict.agreement.position_consistency == 1.0
    assert verdict.confidence == pytest.approx(0.8)
    assert verdict.routing.decision == "auto"


def test_one_position_biased_judge_of_three_is_tolerated() -> None:
    votes = pair("a", "A", "B") + pair("b", "A", "B") + pair("biased", "A", "A")
    verdict = run(PAIRWISE, votes)
    assert [(j.judge, j.value, j.consistent) for j in verdict.judges] == [
        ("a", "A", True),
        ("b", "A", True),
        ("biased", "tie", False),
    ]
    assert verdict.judges[2].first_position_won is True
    assert verdict.value == "A"
    assert verdict.agreement.position_consistency == pytest.approx(2 / 3)
    assert verdict.routing.decision == "auto"


def test_two_position_biased_judges_send_the_item_to_humans() -> None:
    votes = pair("a", "A", "B") + pair("b", "A", "A") + pair("c", "B", "B")
    verdict = run(PAIRWISE, votes)
    assert verdict.value == "tie"
    assert verdict.agreement.position_consistency == pytest.approx(1 / 3)
    assert Reason.POSITION_INCONSISTENT in [r.code for r in verdict.routing.reasons]


def test_no_judge_answering_in_both_orders_sends_the_item_to_humans() -> None:
    """Every judge's BA call failed (a judged text can make one order fail): the votes agree
    and are confident, but position bias was never checked, so the item is not decided
    alone; it was decided, with no reason, before."""
    votes = pair("a", "A", None) + pair("b", "A", None) + pair("c", "A", None)
    verdict = run(PAIRWISE, votes)
    assert verdict.value == "A" and verdict.agreement.position_consistency is None
    assert [r.code for r in verdict.routing.reasons] == [Reason.POSITION_UNCHECKED]
    # The check is off with the position limit; one order only, asked so, is no reason.
    assert (
        run(PAIRWISE, votes, policy=RoutingPolicy(max_position_inconsistency=None)).routing.decision
        == "auto"
    )
    one_order = [v for v in votes if v.order == "AB"]
    assert run(PAIRWISE, one_order).routing.decision == "auto"
    # One judge in both orders is a check: the usual rule applies.
    checked = pair("a", "A", "B") + pair("b", "A", None) + pair("c", "A", None)
    assert Reason.POSITION_UNCHECKED not in [r.code for r in run(PAIRWISE, checked).routing.reasons]


def test_a_pairwise_response_b_win_in_the_canonical_frame() -> None:
    # Every judge prefers response_b: shown second in AB, first in BA.
    votes = pair("a", "B", "A") + pair("b", "B", "A")
    verdict = run(PAIRWISE, votes)
    assert verdict.value == "B"
    assert verdict.distribution == {"B": 1.0}
