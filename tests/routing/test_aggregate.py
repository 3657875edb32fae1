"""Aggregation: plurality with worse-value and tie tie-breaks, weights, mean, lower median."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing import Aggregation, aggregate, allowed
from rubrics import Rubric
from tests.support.library import (
    COLOURS,
    HELPFULNESS,
    MAJORITY,
    MEAN,
    MEDIAN,
    PAIRWISE,
    SAFETY,
    WEIGHTED,
)
from tests.support.votes import unit


def value(rubric: Rubric, votes: list[tuple[object, float]], how: Aggregation) -> object:
    return aggregate(rubric, votes, how).value  # type: ignore[arg-type]


# --- majority -----------------------------------------------------------------------------


def test_majority_is_the_plurality_with_its_distribution() -> None:
    tally = aggregate(HELPFULNESS, unit(4, 4, 2), MAJORITY)
    assert tally.value == 4
    assert tally.distribution == pytest.approx({"4": 2 / 3, "2": 1 / 3})
    assert tally.mean_index == pytest.approx((3 + 3 + 1) / 3)


def test_plurality_need_not_be_a_majority() -> None:
    assert value(HELPFULNESS, unit(5, 5, 1, 2, 3), MAJORITY) == 5


@pytest.mark.parametrize(
    "votes, expected",
    [((5, 2), 2), ((1, 3, 5), 1), ((4, 4, 5, 5, 1), 4), ((3, 5, 5, 3), 3)],
)
def test_an_ordinal_tie_goes_to_the_worse_value(votes: tuple[int, ...], expected: int) -> None:
    assert value(HELPFULNESS, unit(*votes), MAJORITY) == expected


def test_a_split_compliance_panel_does_not_round_up() -> None:
    assert value(SAFETY, unit("pass", "fail"), MAJORITY) == "fail"
    assert value(SAFETY, unit("pass", "fail", "pass"), MAJORITY) == "pass"


@pytest.mark.parametrize(
    "votes, expected",
    [
        (("A", "B"), "tie"),
        (("A", "B", "tie"), "tie"),
        (("B", "A"), "tie"),
        (("A", "tie"), "tie"),
        (("A", "A", "B"), "A"),
        (("B", "B", "tie", "A"), "B"),
        (("tie", "tie", "A"), "tie"),
    ],
)
def test_pairwise_splits_are_ties(votes: tuple[str, ...], expected: str) -> None:
    assert value(PAIRWISE, unit(*votes), MAJORITY) == expected


def test_an_unordered_tie_goes_to_the_first_listed_value() -> None:
    assert value(COLOURS, unit("blue", "green"), MAJORITY) == "green"
    assert aggregate(COLOURS, unit("blue", "green"), MAJORITY).mean_index is None


def test_majority_ignores_weights() -> None:
    votes = [(5, 1.0), (5, 1.0), (1, 10.0)]
    tally = aggregate(HELPFULNESS, votes, MAJORITY)
    assert tally.value == 5
    assert tally.distribution == pytest.approx({"5": 2 / 3, "1": 1 / 3})


# --- weighted -----------------------------------------------------------------------------


def test_weights_change_the_winner() -> None:
    votes = [(5, 1.0), (5, 1.0), (1, 3.0)]
    assert value(HELPFULNESS, votes, MAJORITY) == 5
    tally = aggregate(HELPFULNESS, votes, WEIGHTED)
    assert tally.value == 1
    assert tally.distribution == pytest.approx({"5": 0.4, "1": 0.6})
    assert tally.mean_index == pytest.approx((4 + 4 + 0 * 3) / 5)


def test_a_weighted_tie_still_goes_to_the_worse_value() -> None:
    assert value(HELPFULNESS, [(5, 0.1), (5, 0.2), (2, 0.3)], WEIGHTED) == 2
    assert value(PAIRWISE, [("A", 0.7), ("B", 0.3), ("B", 0.4)], WEIGHTED) == "tie"


# --- mean ---------------------------------------------------------------------------------


def test_mean_rounds_half_up() -> None:
    assert value(HELPFULNESS, unit(3, 4), MEAN) == 4  # 3.5
    assert value(HELPFULNESS, unit(2, 3), MEAN) == 3  # 2.5: not banker's rounding
    assert value(HELPFULNESS, unit(1, 2), MEAN) == 2  # 1.5


def test_mean_just_below_a_half_rounds_down() -> None:
    assert value(HELPFULNESS, [(3, 0.51), (4, 0.49)], MEAN) == 3  # 3.49
    assert value(HELPFULNESS, [(3, 0.49), (4, 0.51)], MEAN) == 4  # 3.51


def test_mean_is_weighted() -> None:
    tally = aggregate(HELPFULNESS, [(1, 1.0), (5, 3.0)], MEAN)
    assert tally.mean_index == pytest.approx(3.0)
    assert tally.value == 4


@pytest.mark.parametrize("weight", [0.1, 0.3, 1 / 3, 3.3, 7.0, 1e-6, 1e6])
def test_an_exact_half_rounds_up_whatever_the_common_weight(weight: float) -> None:
    # [4, 1] has mean 2.5 -> 3; with every weight 3.3 the float mean is 1.4999999999999998
    # positions, which must still round up.
    assert value(HELPFULNESS, [(4, weight), (1, weight)], MEAN) == 3
    assert value(HELPFULNESS, [(4, weight), (2, weight), (3, weight), (1, weight)], MEAN) == 3


@given(st.lists(st.integers(1, 5), min_size=1, max_size=9), st.floats(1e-3, 1e3))
def test_scaling_every_weight_leaves_the_verdict_alone(votes: list[int], weight: float) -> None:
    for how in (MEAN, MEDIAN, WEIGHTED):
        assert value(HELPFULNESS, [(v, weight) for v in votes], how) == value(
            HELPFULNESS, unit(*votes), how
        )


def test_mean_needs_a_numeric_ordinal_scale() -> None:
    with pytest.raises(ValueError, match="mean needs a numeric scale"):
        aggregate(SAFETY, unit("pass"), MEAN)
    with pytest.raises(ValueError, match="numeric"):
        aggregate(PAIRWISE, unit("A"), MEAN)
    unordered = HELPFULNESS.model_copy(update={"ordinal": False})
    with pytest.raises(ValueError, match="mean needs an ordinal scale"):
        aggregate(unordered, unit(3), MEAN)


# --- median -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "votes, expected",
    [((1, 2, 3, 4), 2), ((2, 4), 2), ((1, 5, 5), 5), ((5, 1, 3), 3), ((4,), 4), ((1, 1, 5, 5), 1)],
)
def test_median_is_the_lower_median(votes: tuple[int, ...], expected: int) -> None:
    assert value(HELPFULNESS, unit(*votes), MEDIAN) == expected


def test_median_is_weighted() -> None:
    assert value(HELPFULNESS, [(1, 1.0), (5, 3.0)], MEDIAN) == 5
    assert value(HELPFULNESS, [(1, 3.0), (5, 1.0)], MEDIAN) == 1
    assert value(HELPFULNESS, [(1, 1.0), (5, 1.0)], MEDIAN) == 1


def test_median_works_on_an_ordinal_label_scale() -> None:
    assert value(SAFETY, unit("pass", "fail"), MEDIAN) == "fail"
    assert value(SAFETY, unit("pass", "fail", "pass"), MEDIAN) == "pass"


def test_median_needs_an_ordinal_scale() -> None:
    with pytest.raises(ValueError, match="median needs an ordinal scale"):
        aggregate(PAIRWISE, unit("A"), MEDIAN)
    with pytest.raises(ValueError, match="median needs an ordinal scale"):
        aggregate(COLOURS, unit("red"), MEDIAN)


# --- bad input ----------------------------------------------------------------------------


def test_allowed_explains_what_is_not() -> None:
    assert allowed(HELPFULNESS, MEAN) is None
    assert allowed(SAFETY, MEDIAN) is None
    assert allowed(PAIRWISE, MAJORITY) is None
    assert allowed(PAIRWISE, WEIGHTED) is None
    assert allowed(SAFETY, MEAN) == "mean needs a numeric scale"
    assert allowed(PAIRWISE, MEDIAN) == "median needs an ordinal scale"


@pytest.mark.parametrize("bad", [6, 0, "4", True, 4.0, None])
@pytest.mark.parametrize("how", [MAJORITY, WEIGHTED, MEAN, MEDIAN])
def test_off_scale_votes_are_rejected(bad: object, how: Aggregation) -> None:
    with pytest.raises(ValueError, match="not on the scale of helpfulness@1"):
        aggregate(HELPFULNESS, [(4, 1.0), (bad, 1.0)], how)  # type: ignore[list-item]


@pytest.mark.parametrize("weight", [0.0, -1.0, math.nan, math.inf])
@pytest.mark.parametrize("how", [MAJORITY, WEIGHTED, MEAN, MEDIAN])
def test_non_positive_or_non_finite_weights_are_rejected(weight: float, how: Aggregation) -> None:
    with pytest.raises(ValueError, match="weight must be positive and finite"):
        aggregate(HELPFULNESS, [(4, 1.0), (3, weight)], how)


@pytest.mark.parametrize("how", [MAJORITY, WEIGHTED, MEAN, MEDIAN])
def test_no_votes_give_no_value(how: Aggregation) -> None:
    tally = aggregate(HELPFULNESS, [], how)
    assert tally.value is None
    assert tally.distribution == {}
    assert tally.mean_index is None
