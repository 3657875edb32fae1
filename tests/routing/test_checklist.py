"""A checklist panel's verdict: per-question verdicts, agreement and confidence, and the
criterion from its required questions."""

from __future__ import annotations

import pytest

from judges import Vote
from routing import Aggregation, RoutingPolicy, conclude
from rubrics import Rubric, Unscored
from rubrics.checklist import overall

RUBRIC = Rubric.model_validate(
    {
        "id": "check",
        "version": 1,
        "description": "A test checklist.",
        "mode": "checklist",
        "criteria": "Answer each question.",
        "questions": [
            {"id": "q1", "text": "Is it polite?"},
            {"id": "q2", "text": "Is it accurate?"},
            {"id": "q3", "text": "Does it cite sources?", "required": False, "na": True},
        ],
    }
)


def vote(judge: str, **answers: str | None) -> Vote:
    full: dict[str, str | None] = {"q1": None, "q2": None, "q3": None, **answers}
    value = overall(RUBRIC, full)
    return Vote(
        judge=judge,
        model="m",
        value=value,
        shown_value=value,
        unscored=None if value else Unscored.INCOMPLETE,
        answers=full,
        question_order=("q1", "q2", "q3"),
    )


def judge(votes: list[Vote], aggregation: Aggregation = Aggregation.MAJORITY, **weights: float):  # type: ignore[no-untyped-def]
    return conclude(
        RUBRIC,
        votes,
        aggregation=aggregation,
        quorum=2,
        policy=RoutingPolicy(),
        weights=weights,
        audit_draw=0.99,
    )


def test_each_question_is_aggregated_like_a_yes_no_item() -> None:
    verdict = judge(
        [
            vote("a", q1="yes", q2="yes", q3="yes"),
            vote("b", q1="yes", q2="yes", q3="no"),
            vote("c", q1="yes", q2="no", q3=None),
        ]
    )
    q1, q2, q3 = verdict.questions
    assert (q1.value, q1.agreement.fleiss_p_i, q1.confidence) == ("yes", 1.0, 0.8)  # (3+1)/(3+2)
    # Fleiss' P_i for two yes and one no: 2 * 1 / (3 * 2) = 1/3; confidence (2+1)/(3+2)
    assert q2.value == "yes" and q2.agreement.fleiss_p_i == pytest.approx(1 / 3)
    assert q2.confidence == pytest.approx(0.6)
    assert q2.distribution == pytest.approx({"yes": 2 / 3, "no": 1 / 3})
    assert q2.answers == {"a": "yes", "b": "yes", "c": "no"}
    # c's answer to q3 was unscored: two usable answers, split: the tie goes to "no"
    assert q3.agreement.usable_votes == 2 and q3.agreement.total_votes == 3
    assert q3.value == "no" and q3.answers["c"] is None
    # the criterion: required q1 and q2 pass; the optional q3 does not matter
    assert verdict.value == "pass" and verdict.compliant is True
    # routed on its weakest required question
    assert verdict.confidence == pytest.approx(0.6)
    assert verdict.agreement.fleiss_p_i == pytest.approx(1 / 3)
    assert verdict.agreement.usable_votes == 3


def test_compliant_only_when_every_required_question_passes() -> None:
    verdict = judge(
        [
            vote("a", q1="yes", q2="no", q3="yes"),
            vote("b", q1="yes", q2="no", q3="yes"),
            vote("c", q1="yes", q2="yes", q3="yes"),
        ]
    )
    assert [q.passed for q in verdict.questions] == [True, False, True]
    assert verdict.value == "fail" and verdict.compliant is False


def test_n_a_passes_a_question() -> None:
    rubric_na = [vote(j, q1="yes", q2="yes", q3="n/a") for j in "ab"]
    verdict = judge(rubric_na)
    assert verdict.questions[2].value == "n/a" and verdict.questions[2].passed is True


def test_a_malformed_answer_leaves_the_other_questions_scored() -> None:
    votes = [
        vote("a", q1="yes", q2="yes"),
        vote("b", q1="yes", q2=None),  # b's q2 was malformed: its vote has no overall value
        vote("c", q1="yes", q2="yes"),
    ]
    assert votes[1].value is None and not votes[1].usable
    verdict = judge(votes)
    q1, q2, _ = verdict.questions
    assert q1.agreement.usable_votes == 3  # b's q1 answer still counts
    assert q2.agreement.usable_votes == 2 and q2.answers["b"] is None
    assert verdict.value == "pass"


def test_no_usable_answer_to_a_required_question_leaves_no_verdict() -> None:
    verdict = judge([vote("a", q1="yes"), vote("b", q1="yes")])
    assert verdict.questions[1].value is None
    assert verdict.value is None and verdict.confidence == 0.0
    assert verdict.routing.decision == "human"
    assert "below_quorum" in {r.code.value for r in verdict.routing.reasons}


def test_weighted_questions_count_the_judges_weights() -> None:
    votes = [
        vote("a", q1="no", q2="yes"),
        vote("b", q1="yes", q2="yes"),
        vote("c", q1="yes", q2="yes"),
    ]
    verdict = judge(votes, Aggregation.WEIGHTED, a=3.0, b=1.0, c=1.0)
    assert verdict.questions[0].value == "no"
    assert verdict.value == "fail"
    assert judge(votes).questions[0].value == "yes"  # by majority, b and c win


def test_failed_calls_give_no_answers() -> None:
    from judges import CallErrorKind

    broken = Vote(judge="x", model="m", error=CallErrorKind.TIMEOUT)
    verdict = judge([broken, vote("a", q1="yes", q2="yes")])
    assert verdict.questions[0].answers == {"x": None, "a": "yes"}
    assert verdict.questions[0].agreement.usable_votes == 1
