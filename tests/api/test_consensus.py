"""The review queue's consensus rule, pure."""

from __future__ import annotations

from api.services.consensus import consensus


def test_reviews_wait_until_the_required_number() -> None:
    assert consensus("review", [], 2).outcome == "wait"
    assert consensus("review", [4], 2).outcome == "wait"


def test_agreeing_reviews_are_final() -> None:
    agreed = consensus("review", [4, 4], 2)
    assert (agreed.outcome, agreed.value) == ("final", 4)
    assert consensus("review", ["pass"], 1).value == "pass"


def test_disagreeing_reviews_go_to_adjudication() -> None:
    assert consensus("review", [4, 5], 2).outcome == "adjudicate"
    # True and 1 are different verdicts although they compare equal in Python.
    assert consensus("review", [True, 1], 2).outcome == "adjudicate"


def test_the_adjudicator_decides() -> None:
    decided = consensus("adjudication", [2], 2)
    assert (decided.outcome, decided.value) == ("final", 2)
