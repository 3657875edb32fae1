"""The weighted compliance score of an assessment and its rule."""

from __future__ import annotations

import pytest

from routing.compliance import CriterionState, compliance


def c(name: str, status: str = "decided", ok: bool | None = True, **kw: object) -> CriterionState:
    kw.setdefault("weight", 1.0)
    return CriterionState(name=name, status=status, compliant=ok, **kw)  # type: ignore[arg-type]


def test_score_is_the_weighted_share_of_compliant_decided_criteria() -> None:
    got = compliance(
        [c("a", weight=3), c("b", ok=False, weight=1), c("d", weight=2)], min_score=0.8
    )
    assert got.score == pytest.approx(5 / 6)
    assert got.compliant is True
    assert got.failing == ("b",)
    assert (got.decided, got.in_review, got.status) == (3, 0, "decided")


def test_below_min_score_is_not_compliant() -> None:
    got = compliance([c("a", weight=1), c("b", ok=False, weight=1)], min_score=0.75)
    assert got.score == 0.5 and got.compliant is False


def test_na_is_out_of_the_score_and_counted_apart() -> None:
    got = compliance(
        [c("a", weight=1), c("b", ok=None, not_applicable=True, weight=5), c("d", ok=False)],
        min_score=0.5,
    )
    assert got.score == 0.5  # b's weight 5 is not in the denominator
    assert got.not_applicable == 1 and got.decided == 3
    assert got.compliant is True
    all_na = compliance([c("a", ok=None, not_applicable=True)], min_score=1.0)
    assert all_na.score is None and all_na.compliant is True


def test_a_criterion_in_review_holds_back_the_rule_not_the_others() -> None:
    got = compliance([c("a"), c("b"), c("r", status="in_review", ok=None)], min_score=1.0)
    assert got.score == 1.0  # the decided two
    assert got.compliant is None  # not known until the human decides
    assert (got.decided, got.in_review, got.status) == (2, 1, "in_review")


def test_a_failed_must_pass_decides_at_once() -> None:
    got = compliance(
        [c("a", ok=False, must_pass=True), c("r", status="in_review", ok=None)], min_score=0.0
    )
    assert got.compliant is False
    high = compliance([c("a", ok=False, must_pass=True, weight=1), c("b", weight=99)], 0.5)
    assert high.score == pytest.approx(0.99) and high.compliant is False
    na_must = compliance([c("a", ok=None, not_applicable=True, must_pass=True), c("b")], 1.0)
    assert na_must.compliant is True  # n/a does not fail a must-pass rule


def test_pending_and_failed_criteria() -> None:
    assert compliance([c("a"), c("p", status="pending", ok=None)], 0.5).status == "pending"
    failed = compliance([c("a"), c("f", status="failed", ok=None)], 0.5)
    assert failed.status == "failed" and failed.compliant is None and failed.failed == 1


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="at least one criterion"):
        compliance([], 0.5)
    with pytest.raises(ValueError, match="min_score"):
        compliance([c("a")], 1.5)
