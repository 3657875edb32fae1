"""Krippendorff's alpha against Krippendorff (2011) and the `krippendorff` package."""

from __future__ import annotations

import math
from typing import Any

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from routing.krippendorff import Level, krippendorff_alpha

PROPERTIES = settings(max_examples=50, deadline=None, database=None)
LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval")
nan = np.nan

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers
# x 12 units with missing data, values 1..5 (shifted to scale indices 0..4 below, which no
# level of measurement here is sensitive to). Published: nominal 0.743, ordinal 0.815,
# interval 0.849; the `krippendorff` package (0.9.0) gives the same to 3 places.
PAPER_OBSERVERS = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ]
)
PAPER_CODES = PAPER_OBSERVERS.T - 1  # items in rows, raters in columns


@pytest.mark.parametrize(
    ("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)]
)
def test_krippendorff_2011_worked_example(level: Level, published: float) -> None:
    est = krippendorff_alpha(PAPER_CODES, level=level)
    assert round(est.value, 3) == published
    ref = krippendorff.alpha(reliability_data=PAPER_OBSERVERS, level_of_measurement=level)
    assert est.value == pytest.approx(ref, abs=1e-12)
    assert est.n_items == 11  # unit 12 has a single value: not pairable
    assert (est.n_raters, est.method) == (4, f"krippendorff_alpha[{level}]")
    assert est.ci_low <= est.value <= est.ci_high


def test_krippendorff_package_docstring_example() -> None:
    # `krippendorff` package docstring (alpha()): 3 coders x 15 units, nominal 0.691358,
    # interval 0.810845. Values 1..4 shifted to 0..3.
    data = np.array(
        [
            [nan, nan, nan, nan, nan, 3, 4, 1, 2, 1, 1, 3, 3, nan, 3],
            [1, nan, 2, 1, 3, 3, 4, 3, nan, nan, nan, nan, nan, nan, nan],
            [nan, nan, 2, 1, 3, 4, 4, nan, 2, 1, 1, 3, 3, nan, 4],
        ]
    )
    assert krippendorff_alpha(data.T - 1, n_boot=0).value == pytest.approx(0.691358, abs=1e-6)
    interval = krippendorff_alpha(data.T - 1, level="interval", n_boot=0)
    assert interval.value == pytest.approx(0.810845, abs=1e-6)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("level", LEVELS)
def test_matches_krippendorff_package_on_random_data_with_gaps(seed: int, level: Level) -> None:
    rng = np.random.default_rng(seed)
    n_items, n_raters, k = (
        int(rng.integers(5, 40)),
        int(rng.integers(2, 7)),
        int(rng.integers(2, 7)),
    )
    truth = rng.integers(0, k, n_items)
    codes = np.where(
        rng.random((n_items, n_raters)) < 0.7,
        truth[:, None],
        rng.integers(0, k, (n_items, n_raters)),
    )
    codes = np.where(rng.random(codes.shape) < 0.25, nan, codes)
    codes[0, :2] = [0, 1]  # at least one pairable item and two distinct values
    est = krippendorff_alpha(codes, level=level, n_boot=0)
    ref = krippendorff.alpha(reliability_data=codes.T, level_of_measurement=level)
    assert est.value == pytest.approx(ref, abs=1e-10)


def test_bootstrap_is_seeded_and_optional() -> None:
    first = krippendorff_alpha(PAPER_CODES, level="ordinal", n_boot=300, seed=3)
    assert first == krippendorff_alpha(PAPER_CODES, level="ordinal", n_boot=300, seed=3)
    assert (
        first.std_error
        != krippendorff_alpha(PAPER_CODES, level="ordinal", n_boot=300, seed=4).std_error
    )
    assert first.ci_method == "bootstrap-percentile" and first.std_error > 0
    bare = krippendorff_alpha(PAPER_CODES, level="ordinal", n_boot=0)
    assert bare.value == first.value
    assert math.isnan(bare.ci_low) and math.isnan(bare.std_error) and bare.ci_method == "none"


def test_degenerate_single_value_is_one() -> None:
    est = krippendorff_alpha([[2, 2, nan], [2, nan, 2], [nan, 2, 2]], n_boot=10)
    assert (est.value, est.degenerate, est.ci_low, est.ci_high) == (1.0, True, 1.0, 1.0)


def test_single_disagreeing_pair_is_zero() -> None:
    assert krippendorff_alpha([[0, 1]], n_boot=0).value == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    ("codes", "kwargs", "message"),
    [
        ([0, 1, 2], {}, "2-D"),
        ([[0], [1]], {}, "at least 2 raters"),
        ([[0, nan], [nan, 1]], {}, "no item has two or more usable votes"),
        ([[nan, nan]], {}, "no item has two or more usable votes"),
        ([[0, -1], [1, 1]], {}, "non-negative"),
        ([[0, 1.5], [1, 1]], {}, "integer"),
        ([[0, 1], [1, 1]], {"level": "ratio"}, "level must be"),
        ([[0, 1], [1, 1]], {"confidence": 0.0}, "confidence"),
        ([[0, 1], [1, 1]], {"n_boot": -5}, "n_boot"),
    ],
)
def test_rejects_bad_input(codes: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        krippendorff_alpha(codes, **kwargs)


# --- Properties --------------------------------------------------------------------------


@st.composite
def code_matrix(draw: st.DrawFn, gaps: bool = True) -> tuple[NDArray[np.float64], int]:
    """Items x raters codes in 0..k-1 with some NaN, at least one pairable item using two codes."""
    k = draw(st.integers(2, 5))
    n_items, n_raters = draw(st.integers(1, 15)), draw(st.integers(2, 5))
    cell = st.one_of(st.integers(0, k - 1), st.just(nan)) if gaps else st.integers(0, k - 1)
    rows = [draw(st.lists(cell, min_size=n_raters, max_size=n_raters)) for _ in range(n_items)]
    codes = np.array(rows, dtype=np.float64)
    codes = np.vstack([[0, k - 1] + [nan] * (n_raters - 2), codes])
    return codes, k


@PROPERTIES
@given(code_matrix(), st.sampled_from(LEVELS))
def test_identical_votes_with_gaps_give_one(
    case: tuple[NDArray[np.float64], int], level: Level
) -> None:
    codes, k = case
    n_items, n_raters = codes.shape
    truth = (np.arange(n_items) % k).astype(np.float64)  # each item's one agreed value
    agreeing = np.where(np.isnan(codes), nan, truth[:, None])  # keep the random gaps
    both_codes = np.array([[0.0] * n_raters, [1.0] * n_raters])  # so that D_e > 0
    est = krippendorff_alpha(np.vstack([agreeing, both_codes]), level=level, n_boot=0)
    assert est.value == pytest.approx(1.0, abs=1e-12)
    assert not est.degenerate


@PROPERTIES
@given(code_matrix(), st.data())
def test_nominal_alpha_is_invariant_under_relabelling(
    case: tuple[NDArray[np.float64], int], data: st.DataObject
) -> None:
    codes, k = case
    perm = np.array(data.draw(st.permutations(range(k))), dtype=np.float64)
    relabelled = np.where(np.isnan(codes), nan, perm[np.nan_to_num(codes).astype(int)])
    before = krippendorff_alpha(codes, n_boot=0).value
    assert krippendorff_alpha(relabelled, n_boot=0).value == pytest.approx(before, abs=1e-12)


@PROPERTIES
@given(code_matrix(), st.integers(0, 5))
def test_ordinal_and_interval_alpha_are_invariant_under_shift_and_reversal(
    case: tuple[NDArray[np.float64], int], shift: int
) -> None:
    codes, k = case
    for level in LEVELS[1:]:
        before = krippendorff_alpha(codes, level=level, n_boot=0).value
        shifted = krippendorff_alpha(codes + shift, level=level, n_boot=0).value
        reversed_ = krippendorff_alpha(k - 1 - codes, level=level, n_boot=0).value
        assert shifted == pytest.approx(before, abs=1e-12)
        assert reversed_ == pytest.approx(before, abs=1e-12)


@PROPERTIES
@given(code_matrix(), st.sampled_from(LEVELS), st.integers(1, 3), st.data())
def test_missing_votes_do_not_count_as_disagreement(
    case: tuple[NDArray[np.float64], int], level: Level, n_extra: int, data: st.DataObject
) -> None:
    codes, k = case
    before = krippendorff_alpha(codes, level=level, n_boot=0)
    # A fully missing rater, and items with at most one vote, change nothing.
    blank = np.hstack([codes, np.full((codes.shape[0], 1), nan)])
    lone = np.full((n_extra, codes.shape[1]), nan)
    for row in lone:
        row[data.draw(st.integers(0, codes.shape[1] - 1))] = data.draw(st.integers(0, k - 1))
    padded = np.vstack([codes, lone, np.full((2, codes.shape[1]), nan)])
    for variant in (blank, padded):
        after = krippendorff_alpha(variant, level=level, n_boot=0)
        assert after.value == pytest.approx(before.value, abs=1e-12)
        assert (after.n_items, after.n_raters) == (before.n_items, before.n_raters)


@PROPERTIES
@given(code_matrix(gaps=False), st.sampled_from(LEVELS))
def test_raters_order_does_not_matter(case: tuple[NDArray[np.float64], int], level: Level) -> None:
    codes, _ = case
    before = krippendorff_alpha(codes, level=level, n_boot=0).value
    after = krippendorff_alpha(codes[:, ::-1], level=level, n_boot=0).value
    assert after == pytest.approx(before, abs=1e-12)


def test_interval_leaves_degenerate_resamples_out() -> None:
    # One dissenting vote among 20 items x 3 raters: alpha is 0 to rounding; resamples
    # without that item are all one value (alpha 0/0) and must not pull the interval to 1.
    codes = np.zeros((20, 3))
    codes[0, 0] = 1
    est = krippendorff_alpha(codes, n_boot=2000, seed=1)
    assert est.value == pytest.approx(0.0, abs=1e-12)
    assert est.ci_high <= 1e-9
    assert est.ci_low < 0.0
