"""Position-bias correction: reconciling each judge's two presentation orders."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from judges import CallErrorKind, Vote, canonical
from routing import Aggregation, RoutingPolicy, conclude, consistency_rate, reconcile
from rubrics import LIBRARY_DIR, Order, Unscored, load_rubrics
from tests.support.votes import pair, shown

PAIRWISE = load_rubrics([LIBRARY_DIR])["pairwise-preference"]
SWAP = {"A": "B", "B": "A", "tie": "tie", None: None}
FLIP: dict[Order, Order] = {"AB": "BA", "BA": "AB"}


def test_a_consistent_judge_keeps_its_verdict() -> None:
    # Response A wins in both orders: shown "A" first, then shown "B" once swapped.
    [v] = reconcile(pair("j", "A", "B"))
    assert (v.judge, v.value, v.consistent, v.first_position_won) == ("j", "A", True, None)


def test_a_consistent_tie_stays_a_tie() -> None:
    [v] = reconcile(pair("j", "tie", "tie"))
    assert (v.value, v.consistent) == ("tie", True)


def test_a_judge_that_always_picks_the_first_shown_is_inconsistent() -> None:
    [v] = reconcile(pair("j", "A", "A"))  # canonical A, then B
    assert v.value == "tie"
    assert v.consistent is False
    assert v.first_position_won is True


def test_a_judge_that_always_picks_the_second_shown_is_inconsistent() -> None:
    [v] = reconcile(pair("j", "B", "B"))
    assert (v.value, v.consistent, v.first_position_won) == ("tie", False, False)


def test_a_win_in_one_order_and_a_tie_in_the_other_is_inconsistent() -> None:
    [v] = reconcile(pair("j", "A", "tie"))
    assert (v.value, v.consistent) == ("tie", False)
    assert v.first_position_won is None  # no position won both times


@pytest.mark.parametrize(
    "ab, ba, value", [("A", None, "A"), (None, "A", "B"), (None, "tie", "tie")]
)
def test_one_usable_order_keeps_its_vote_with_unknown_consistency(
    ab: str | None, ba: str | None, value: str
) -> None:
    [v] = reconcile(pair("j", ab, ba))
    assert (v.value, v.consistent, v.first_position_won) == (value, None, None)


def test_an_unscored_order_counts_as_unusable() -> None:
    votes = [shown("j", "AB", "A"), shown("j", "BA", None, unscored=Unscored.OFF_SCALE)]
    [v] = reconcile(votes)
    assert (v.value, v.consistent) == ("A", None)


def test_no_usable_order_gives_no_verdict() -> None:
    [v] = reconcile(pair("j", None, None))
    assert (v.value, v.consistent, v.first_position_won) == (None, None, None)


def test_one_verdict_per_judge_in_first_seen_order() -> None:
    votes = [
        shown("b", "AB", "A"),
        shown("a", "AB", "B"),
        shown("b", "BA", "B"),
        shown("a", "BA", "A"),
    ]
    assert [(v.judge, v.value, v.consistent) for v in reconcile(votes)] == [
        ("b", "A", True),
        ("a", "B", True),
    ]


def test_pointwise_votes_pass_through() -> None:
    votes = [
        Vote(judge="x", model="m", value=4, shown_value=4),
        Vote(judge="y", model="m", error=CallErrorKind.AUTH),
    ]
    assert [(v.judge, v.value, v.consistent) for v in reconcile(votes)] == [
        ("x", 4, None),
        ("y", None, None),
    ]


def test_consistency_rate_counts_only_comparable_judges() -> None:
    verdicts = reconcile(
        pair("ok", "A", "B")
        + pair("flip", "A", "A")
        + pair("half", "A", None)
        + pair("x", None, None)
    )
    assert consistency_rate(verdicts) == 0.5
    assert consistency_rate(reconcile(pair("half", "A", None))) is None
    assert consistency_rate([]) is None


# --- mirroring: swapping response_a and response_b mirrors every verdict ---------------------

shown_values = st.sampled_from(["A", "B", "tie", None])  # None: the call failed
panels = st.lists(st.tuples(shown_values, shown_values), min_size=1, max_size=6)


def panel_votes(panel: list[tuple[str | None, str | None]]) -> list[Vote]:
    return [v for i, (ab, ba) in enumerate(panel) for v in pair(f"j{i}", ab, ba)]


def mirrored(votes: list[Vote]) -> list[Vote]:
    """The votes the same judges give once response_a and response_b trade places.

    What a judge saw in order AB it now sees in order BA, and answers the same in its own
    frame: `order` flips, `shown_value` is unchanged, so the canonical `value` swaps A<->B.
    """
    out = []
    for v in votes:
        assert v.order is not None
        order = FLIP[v.order]
        out.append(v.model_copy(update={"order": order, "value": canonical(v.shown_value, order)}))
    return out


@given(panels)
def test_swapping_a_and_b_mirrors_every_judge_verdict(
    panel: list[tuple[str | None, str | None]],
) -> None:
    votes = panel_votes(panel)
    swapped = mirrored(votes)
    for v, m in zip(votes, swapped, strict=True):
        assert m.value == SWAP[v.value]  # type: ignore[index]
    for original, mirror in zip(reconcile(votes), reconcile(swapped), strict=True):
        assert mirror.judge == original.judge
        assert mirror.value == SWAP[original.value]  # type: ignore[index]
        assert mirror.consistent == original.consistent
        # a judge biased to the first position stays biased to it
        assert mirror.first_position_won == original.first_position_won


@given(panels, st.sampled_from([Aggregation.MAJORITY, Aggregation.WEIGHTED]), st.data())
def test_swapping_a_and_b_mirrors_the_panel_verdict(
    panel: list[tuple[str | None, str | None]], how: Aggregation, data: st.DataObject
) -> None:
    weights = {f"j{i}": data.draw(st.floats(0.1, 5)) for i in range(len(panel))}
    votes = panel_votes(panel)

    def run(vs: list[Vote]):  # type: ignore[no-untyped-def]
        return conclude(
            PAIRWISE,
            vs,
            aggregation=how,
            quorum=2,
            policy=RoutingPolicy(),
            weights=weights,
            audit_draw=0.5,
        )

    original, mirror = run(votes), run(mirrored(votes))
    assert mirror.value == SWAP[original.value]  # type: ignore[index]
    assert mirror.confidence == pytest.approx(original.confidence)
    # the margin may differ in the last bit: its weights are summed in another order
    assert mirror.agreement.margin == pytest.approx(original.agreement.margin)
    assert mirror.agreement.model_copy(update={"margin": None}) == original.agreement.model_copy(
        update={"margin": None}
    )
    assert mirror.routing == original.routing
    assert mirror.distribution == {
        str(SWAP[k]): p
        for k, p in original.distribution.items()  # type: ignore[index]
    }
