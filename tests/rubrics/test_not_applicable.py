"""n/a as a real answer in the rubric model: never compliant or not, never a score.
(Aggregation, agreement and kappa with n/a: tests/routing/test_not_applicable.py.)"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rubrics import LIBRARY_DIR, Rubric, load_rubrics

BASE = {
    "id": "leak",
    "version": 1,
    "description": "d",
    "mode": "pointwise",
    "criteria": "c",
}


def na_rubric(**over: object) -> Rubric:
    data = {
        **BASE,
        "scale": ["fail", "pass", "n/a"],
        "not_applicable": "n/a",
        "compliant": {"values": ["pass"]},
        **over,
    }
    return Rubric.model_validate(data)


def scored_na() -> Rubric:
    return na_rubric(scale=[1, 2, 3, 4, 5, "n/a"], compliant={"min": 4})


def test_na_is_never_compliant_nor_a_score() -> None:
    r = na_rubric()
    assert r.is_compliant("n/a") is None
    assert r.is_compliant("pass") is True and r.is_compliant("fail") is False
    assert r.normalised("n/a") is None
    assert (r.normalised("fail"), r.normalised("pass")) == (0.0, 1.0)
    s = scored_na()
    assert s.numeric  # the applicable values are numbers: a mean is meaningful
    assert s.normalised(4) == 0.75 and s.normalised("n/a") is None


@pytest.mark.parametrize(
    ("over", "problem"),
    [
        ({"not_applicable": "na"}, "not on the scale"),
        ({"scale": ["n/a", "fail", "pass"]}, "must be the last scale value"),
        ({"compliant": {"values": ["pass", "n/a"]}}, "cannot hold the not_applicable"),
        ({"compliant": {"min": "n/a"}}, "cannot be the not_applicable"),
        ({"compliant": None}, "needs a compliance rule"),
        ({"scale": ["pass", "n/a"], "compliant": {"values": ["pass"]}}, "two other values"),
    ],
)
def test_bad_not_applicable_rules_are_refused(over: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        na_rubric(**over)


def test_the_shipped_library_flags_na_on_rubrics_that_may_not_apply() -> None:
    library = load_rubrics([LIBRARY_DIR])
    with_na = {r.id for r in library.values() if r.not_applicable is not None}
    assert {"data-privacy", "output-traceability", "human-oversight"} <= with_na
    for rid in with_na:
        r = library[rid]
        assert r.scale[-1] == r.not_applicable == "n/a"
        assert "n/a" in r.anchors
