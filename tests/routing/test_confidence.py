"""Confidence: Laplace's rule of succession over agreeing (weighted) votes."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing import aggregate, confidence
from tests.support.library import HELPFULNESS, MAJORITY, MEAN, MEDIAN, PAIRWISE, SAFETY, WEIGHTED
from tests.support.votes import unit


# The figures in routing/confidence.py's docstring and docs/statistics.md.
@pytest.mark.parametrize(
    "votes, verdict, expected",
    [
        (unit(4, 4, 4), 4, 0.8),  # 3 of 3
        (unit(4, 4, 2), 4, 0.6),  # 2 of 3
        (unit(4), 4, 2 / 3),  # 1 of 1
        (unit(5, 5, 5, 5, 5), 5, 6 / 7),  # 5 of 5
        (unit(1, 3, 5), 1, 0.4),  # 1 of 3
        (unit(1, 5), 3, 0.25),  # 0 of 2
    ],
)
def test_documented_figures(
    votes: list[tuple[object, float]], verdict: int, expected: float
) -> None:
    assert confidence(HELPFULNESS, votes, verdict, MAJORITY) == pytest.approx(expected)  # type: ignore[arg-type]


def test_no_usable_vote_gives_zero() -> None:
    assert confidence(HELPFULNESS, [], None, MAJORITY) == 0.0
    assert confidence(HELPFULNESS, [], 4, MAJORITY) == 0.0
    assert confidence(HELPFULNESS, unit(4), None, MAJORITY) == 0.0


def test_labels_and_pairwise_use_exact_matches() -> None:
    assert confidence(SAFETY, unit("pass", "pass", "fail"), "pass", MAJORITY) == pytest.approx(0.6)
    assert confidence(PAIRWISE, unit("A", "B", "tie"), "tie", MAJORITY) == pytest.approx(0.4)


def test_majority_ignores_weights_and_weighted_uses_them() -> None:
    votes = [(4, 2.0), (2, 1.0)]
    # majority: 1 of 2 agree
    assert confidence(HELPFULNESS, votes, 4, MAJORITY) == pytest.approx(0.5)
    # weighted: weights normalised to mean 1 -> 4/3 and 2/3; k = 4/3, n = 2
    assert confidence(HELPFULNESS, votes, 4, WEIGHTED) == pytest.approx((4 / 3 + 1) / 4)
    assert confidence(HELPFULNESS, votes, 2, WEIGHTED) == pytest.approx((2 / 3 + 1) / 4)


def test_the_soft_variant_credits_near_misses_for_mean_and_median() -> None:
    # s_i = 1 - |pos_i - pos_verdict| / 4 on the 5-point scale: 0.75 + 1 + 0.75 = 2.5
    assert confidence(HELPFULNESS, unit(3, 4, 5), 4, MEDIAN) == pytest.approx(3.5 / 5)
    assert confidence(HELPFULNESS, unit(3, 4, 5), 4, MEAN) == pytest.approx(3.5 / 5)
    # the same votes under exact matching: only one agrees
    assert confidence(HELPFULNESS, unit(3, 4, 5), 4, MAJORITY) == pytest.approx(0.4)
    # 1 and 5 around a verdict of 3: each half-agrees
    assert confidence(HELPFULNESS, unit(1, 5), 3, MEAN) == pytest.approx(0.5)
    # a two-point scale: a miss is a full miss even for median
    assert confidence(SAFETY, unit("pass", "fail"), "fail", MEDIAN) == pytest.approx(0.5)


def test_the_soft_variant_is_weighted() -> None:
    votes = [(5, 3.0), (1, 1.0)]  # normalised weights 1.5, 0.5
    verdict = aggregate(HELPFULNESS, votes, MEAN).value
    assert verdict == 4
    # s = 0.75 for the 5, 0.25 for the 1: k = 1.5 * 0.75 + 0.5 * 0.25 = 1.25
    assert confidence(HELPFULNESS, votes, verdict, MEAN) == pytest.approx(2.25 / 4)


def test_off_scale_verdicts_and_votes_are_rejected() -> None:
    with pytest.raises(ValueError, match="verdict 6"):
        confidence(HELPFULNESS, unit(4), 6, MAJORITY)
    with pytest.raises(ValueError, match="vote value True"):
        confidence(HELPFULNESS, [(4, 1.0), (True, 1.0)], 4, MAJORITY)


@given(st.lists(st.integers(1, 5), min_size=1, max_size=12), st.integers(1, 5))
def test_confidence_is_in_the_open_unit_interval(votes: list[int], verdict: int) -> None:
    for how in (MAJORITY, MEAN, MEDIAN):
        c = confidence(HELPFULNESS, unit(*votes), verdict, how)
        assert 0 < c < 1


@given(st.lists(st.integers(1, 5), min_size=1, max_size=12))
def test_another_agreeing_judge_never_lowers_confidence(votes: list[int]) -> None:
    verdict = aggregate(HELPFULNESS, unit(*votes), MAJORITY).value
    before = confidence(HELPFULNESS, unit(*votes), verdict, MAJORITY)
    after = confidence(HELPFULNESS, unit(*votes, verdict), verdict, MAJORITY)
    assert after >= before


@given(st.lists(st.integers(1, 5), min_size=1, max_size=9), st.floats(1e-3, 1e3))
def test_a_common_weight_does_not_matter(votes: list[int], weight: float) -> None:
    for how in (WEIGHTED, MEAN):
        verdict = aggregate(HELPFULNESS, unit(*votes), how).value
        same = confidence(HELPFULNESS, [(v, weight) for v in votes], verdict, how)
        assert same == pytest.approx(confidence(HELPFULNESS, unit(*votes), verdict, how))
