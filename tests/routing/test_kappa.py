"""Cohen's and Fleiss' kappa against published worked examples and reference libraries."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, cohens_kappa
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from routing.kappa import (
    Weighting,
    cohen_kappa,
    cohen_kappa_from_table,
    cohen_kappa_matrix,
    fleiss_kappa,
)
from tests.support.examples import FLEISS_1971

PROPERTIES = settings(max_examples=50, deadline=None, database=None)
WEIGHTS: tuple[Weighting, ...] = ("none", "linear", "quadratic")
SE_NOISE = 1e-7
"""A standard error that is exactly 0 (e.g. one rater constant) comes out as the square
root of ~1e-17 rounding noise, so SEs are compared to sqrt precision, not 1e-12."""


def codes_from_table(table: NDArray[np.int64]) -> NDArray[np.float64]:
    """Items x raters codes from an items x categories count table (rater order is arbitrary)."""
    return np.array([np.repeat(np.arange(len(row)), row) for row in table], dtype=np.float64)


def pairs_from_table(table: list[list[int]]) -> tuple[list[int], list[int]]:
    """Two raters' codes reproducing a k x k contingency table (rater A in rows)."""
    a: list[int] = []
    b: list[int] = []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            a += [i] * count
            b += [j] * count
    return a, b


# --- Cohen's kappa: worked examples -------------------------------------------------------


def test_cohen_wikipedia_worked_example() -> None:
    # Wikipedia, "Cohen's kappa", simple example: 50 applications; both yes 20, A yes/B no 5,
    # A no/B yes 10, both no 15. p_o = 0.7, p_e = 0.5, kappa = 0.4.
    a, b = pairs_from_table([[20, 5], [10, 15]])
    est = cohen_kappa(a, b)
    assert est.value == pytest.approx(0.4, abs=1e-12)
    assert (est.n_items, est.n_raters, est.method) == (50, 2, "cohen_kappa")
    assert est.ci_low < est.value < est.ci_high
    ref = cohens_kappa(np.array([[20, 5], [10, 15]]))
    assert est.std_error == pytest.approx(ref.std_kappa, abs=1e-12)


# SAS PROC FREQ printout, as recorded in statsmodels/stats/tests/test_inter_rater.py
# (TestUnweightedCohens / TestWeightedCohens): table10, kappa, ASE, 95% limits.
SAS_TABLE = [[0, 4, 1], [0, 8, 0], [0, 1, 5]]


@pytest.mark.parametrize(
    ("weights", "kappa", "ase", "low", "high"),
    [("none", 0.4842, 0.1380, 0.2137, 0.7547), ("linear", 0.4701, 0.1457, 0.1845, 0.7558)],
)
def test_cohen_against_sas_printout(
    weights: Weighting, kappa: float, ase: float, low: float, high: float
) -> None:
    a, b = pairs_from_table(SAS_TABLE)
    est = cohen_kappa(a, b, weights=weights)
    got = [est.value, est.std_error, est.ci_low, est.ci_high]
    np.testing.assert_allclose(got, [kappa, ase, low, high], atol=5e-5)
    assert cohen_kappa_from_table(SAS_TABLE, weights=weights) == est


@pytest.mark.parametrize(
    ("weights", "expected"),
    [("none", -0.006289308), ("linear", 0.1459075), ("quadratic", 0.2520325)],
)
def test_cohen_against_r_irr_anxiety(weights: Weighting, expected: float) -> None:
    # R irr::kappa2(anxiety[, 2:3], weight) as recorded in statsmodels'
    # test_inter_rater.py::test_cohens_kappa_irr. irr drops the unused level 5, so the
    # ratings 1,2,3,4,6 are the scale indices 0..4.
    rater2 = [2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2]
    rater3 = [3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4]
    levels = [1, 2, 3, 4, 6]
    a, b = np.searchsorted(levels, rater3), np.searchsorted(levels, rater2)
    est = cohen_kappa(a, b, weights=weights)
    assert est.value == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("weights", WEIGHTS)
def test_cohen_matches_sklearn_and_statsmodels(seed: int, weights: Weighting) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 7))
    a = rng.integers(0, k, 80)
    b = np.where(rng.random(80) < 0.6, a, rng.integers(0, k, 80))  # correlated raters
    est = cohen_kappa(a, b, weights=weights, n_categories=k)
    sk = cohen_kappa_score(
        a, b, labels=list(range(k)), weights=None if weights == "none" else weights
    )
    assert est.value == pytest.approx(sk, abs=1e-10)
    table = np.zeros((k, k))
    np.add.at(table, (a, b), 1)
    ref = cohens_kappa(table) if weights == "none" else cohens_kappa(table, wt=weights)
    assert est.value == pytest.approx(ref.kappa, abs=1e-10)
    assert est.std_error == pytest.approx(ref.std_kappa, abs=1e-10)
    if ref.kappa_low > -1 and ref.kappa_upp < 1:
        assert (est.ci_low, est.ci_high) == pytest.approx((ref.kappa_low, ref.kappa_upp), abs=1e-10)


def test_cohen_drops_items_missing_either_vote() -> None:
    a = [0, 1, 1, 0, np.nan, 1, 2]
    b = [0, 1, 0, 0, 1, np.nan, np.nan]
    assert cohen_kappa(a, b) == cohen_kappa([0, 1, 1, 0], [0, 1, 0, 0], n_categories=3)


def test_cohen_perfect_agreement_and_degenerate_case() -> None:
    perfect = cohen_kappa([0, 1, 2, 1], [0, 1, 2, 1], weights="quadratic")
    assert (perfect.value, perfect.ci_low, perfect.ci_high, perfect.degenerate) == (1, 1, 1, False)
    # Both raters always say 0: chance agreement is 1, kappa 0/0, reported as 1 and flagged.
    same = cohen_kappa([0, 0, 0], [0, 0, 0])
    assert (same.value, same.degenerate, same.std_error) == (1.0, True, 0.0)


def test_cohen_disjoint_single_categories_is_zero_not_degenerate() -> None:
    est = cohen_kappa([0, 0, 0], [1, 1, 1])
    assert (est.value, est.degenerate) == (0.0, False)


@pytest.mark.parametrize(
    ("a", "b", "kwargs", "message"),
    [
        ([0, 1], [0, 1, 1], {}, "equal length"),
        ([[0, 1]], [[0, 1]], {}, "1-D"),
        ([0, -1], [0, 1], {}, "non-negative"),
        ([0, 0.5], [0, 1], {}, "integer"),
        ([0, np.inf], [0, 1], {}, "finite"),
        ([0, np.nan], [np.nan, 1], {}, "no item has a usable vote"),
        ([0, 3], [0, 1], {"n_categories": 3}, "outside the scale"),
        ([0, 1], [0, 1], {"weights": "cubic"}, "weights must be"),
        ([0, 1], [0, 1], {"confidence": 1.0}, "confidence"),
        (["a", "b"], ["a", "b"], {}, "numeric"),
    ],
)
def test_cohen_rejects_bad_input(a: Any, b: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cohen_kappa(a, b, **kwargs)


def test_cohen_from_table_rejects_bad_tables() -> None:
    bad_tables: list[Any] = [[[1, 2, 3]], [[1.5, 0], [0, 1]], [[0, 0], [0, 0]], [[-1, 2], [0, 1]]]
    for bad in bad_tables:
        with pytest.raises(ValueError):
            cohen_kappa_from_table(bad)


# --- Pairwise matrix ---------------------------------------------------------------------


def test_kappa_matrix_uses_items_both_judges_rated() -> None:
    nan = np.nan
    codes = np.array(
        [[0, 0, 1, nan], [1, 1, 1, nan], [2, 1, 2, nan], [0, 0, 0, nan], [1, 2, nan, 2]]
    )
    m = cohen_kappa_matrix(codes, weights="linear")
    values = m.values()
    assert values.shape == (4, 4)
    assert np.all(np.isnan(np.diag(values)))
    np.testing.assert_array_equal(values, values.T)
    assert m.estimates[0][2] == cohen_kappa(
        codes[:4, 0], codes[:4, 2], weights="linear", n_categories=3
    )
    assert m.estimates[0][3] is not None and m.estimates[0][3].n_items == 1
    assert m.estimates[2][3] is None  # judges 2 and 3 share no item
    assert math.isnan(values[2, 3])


def test_kappa_matrix_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="at least 2 raters"):
        cohen_kappa_matrix([[0], [1]])
    with pytest.raises(ValueError, match="no usable vote"):
        cohen_kappa_matrix([[np.nan, np.nan]])


# --- Fleiss' kappa -----------------------------------------------------------------------

# Fleiss (1971) worked example as on Wikipedia, "Fleiss' kappa": 10 subjects, 14 raters,
# 5 categories (items x category counts); kappa = 0.210. Also statsmodels' table1.
WIKIPEDIA_FLEISS = FLEISS_1971

# Fleiss (1971) psychiatric diagnoses, 30 patients x 6 raters, codes 1..5; R irr
# kappam.fleiss gives 0.4302445 (statsmodels test_inter_rater.py::test_fleiss_kappa_irr).
DIAGNOSES = np.array(
    [
        [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5],
        [2, 2, 2, 4, 4, 4], [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4],
        [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5], [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4],
        [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5], [3, 3, 3, 3, 3, 5],
        [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
        [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4],
        [1, 4, 4, 4, 4, 5], [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4],
        [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
    ]
)  # fmt: skip


def test_fleiss_wikipedia_worked_example() -> None:
    est = fleiss_kappa(codes_from_table(WIKIPEDIA_FLEISS))
    assert round(est.value, 3) == 0.210
    assert est.value == pytest.approx(sm_fleiss_kappa(WIKIPEDIA_FLEISS), abs=1e-12)
    assert (est.n_items, est.n_raters, est.ci_method) == (10, 14, "bootstrap-percentile")
    assert est.ci_low <= est.value <= est.ci_high


def test_fleiss_1971_diagnoses() -> None:
    est = fleiss_kappa(DIAGNOSES - 1)
    assert est.value == pytest.approx(0.4302445, abs=1e-7)
    assert est.value == pytest.approx(sm_fleiss_kappa(aggregate_raters(DIAGNOSES)[0]), abs=1e-12)


def test_fleiss_bootstrap_is_seeded() -> None:
    codes = DIAGNOSES - 1
    first = fleiss_kappa(codes, n_boot=200, seed=7)
    assert first == fleiss_kappa(codes, n_boot=200, seed=7)
    assert first.ci_low != fleiss_kappa(codes, n_boot=200, seed=8).ci_low
    assert 0.3 < first.ci_low < first.value < first.ci_high < 0.6
    bare = fleiss_kappa(codes, n_boot=0)
    assert bare.value == first.value and math.isnan(bare.ci_low) and bare.ci_method == "none"


def test_fleiss_uses_complete_items_only() -> None:
    codes = (DIAGNOSES - 1).astype(float)
    with_gaps = np.vstack([codes, [[0, np.nan, 1, 1, 2, 3]], [[np.nan] * 6]])
    assert fleiss_kappa(with_gaps, n_boot=50).value == fleiss_kappa(codes, n_boot=50).value
    assert fleiss_kappa(with_gaps, n_boot=50).n_items == 30


def test_fleiss_degenerate_single_category() -> None:
    est = fleiss_kappa(np.full((5, 3), 2), n_boot=20)
    assert (est.value, est.degenerate, est.ci_low, est.ci_high) == (1.0, True, 1.0, 1.0)


@pytest.mark.parametrize(
    ("codes", "kwargs", "message"),
    [
        ([0, 1, 2], {}, "2-D"),
        ([[0], [1]], {}, "at least 2 raters"),
        (np.zeros((0, 3)), {}, "no items"),
        ([[0, np.nan], [1, 1]], {"n_boot": 1}, "n_boot"),
        ([[0, np.nan], [np.nan, 1]], {}, "no item was rated by every rater"),
        ([[0, -1], [1, 1]], {}, "non-negative"),
    ],
)
def test_fleiss_rejects_bad_input(codes: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fleiss_kappa(codes, **kwargs)


# --- Properties --------------------------------------------------------------------------


@st.composite
def rater_pair(draw: st.DrawFn) -> tuple[NDArray[np.int64], NDArray[np.int64], int]:
    k = draw(st.integers(2, 5))
    n = draw(st.integers(2, 30))
    cell = st.integers(0, k - 1)
    a = np.array(draw(st.lists(cell, min_size=n, max_size=n)))
    b = np.array(draw(st.lists(cell, min_size=n, max_size=n)))
    return a, b, k


@PROPERTIES
@given(rater_pair(), st.sampled_from(WEIGHTS))
def test_identical_raters_give_one(
    pair: tuple[NDArray[np.int64], NDArray[np.int64], int], weights: Weighting
) -> None:
    a, _, k = pair
    est = cohen_kappa(a, a, weights=weights, n_categories=k)
    assert est.value == pytest.approx(1.0, abs=1e-12)
    assert est.degenerate == (len(set(a.tolist())) == 1)
    assert fleiss_kappa(np.column_stack([a, a, a]), n_boot=0).value == pytest.approx(1.0, abs=1e-12)


@PROPERTIES
@given(rater_pair(), st.sampled_from(WEIGHTS))
def test_cohen_is_symmetric_in_the_raters(
    pair: tuple[NDArray[np.int64], NDArray[np.int64], int], weights: Weighting
) -> None:
    a, b, k = pair
    ab = cohen_kappa(a, b, weights=weights, n_categories=k)
    ba = cohen_kappa(b, a, weights=weights, n_categories=k)
    assert ab.value == pytest.approx(ba.value, abs=1e-12)
    assert ab.std_error == pytest.approx(ba.std_error, abs=SE_NOISE)


@PROPERTIES
@given(rater_pair(), st.data())
def test_nominal_kappa_is_invariant_under_relabelling(
    pair: tuple[NDArray[np.int64], NDArray[np.int64], int], data: st.DataObject
) -> None:
    a, b, k = pair
    perm = np.array(data.draw(st.permutations(range(k))))
    before = cohen_kappa(a, b, n_categories=k)
    after = cohen_kappa(perm[a], perm[b], n_categories=k)
    assert after.value == pytest.approx(before.value, abs=1e-12)
    assert after.std_error == pytest.approx(before.std_error, abs=SE_NOISE)
    codes = np.column_stack([a, b, b])
    assert fleiss_kappa(perm[codes], n_boot=0).value == pytest.approx(
        fleiss_kappa(codes, n_boot=0).value, abs=1e-12
    )


@PROPERTIES
@given(rater_pair(), st.sampled_from(WEIGHTS[1:]))
def test_weighted_kappa_is_invariant_under_reversing_the_scale(
    pair: tuple[NDArray[np.int64], NDArray[np.int64], int], weights: Weighting
) -> None:
    a, b, k = pair
    before = cohen_kappa(a, b, weights=weights, n_categories=k)
    after = cohen_kappa(k - 1 - a, k - 1 - b, weights=weights, n_categories=k)
    assert after.value == pytest.approx(before.value, abs=1e-12)


@PROPERTIES
@given(rater_pair(), st.integers(1, 10))
def test_missing_votes_do_not_count_as_disagreement(
    pair: tuple[NDArray[np.int64], NDArray[np.int64], int], extra: int
) -> None:
    a, b, k = pair
    a_more = np.concatenate([a, np.zeros(extra), np.full(extra, np.nan)])
    b_more = np.concatenate([b, np.full(extra, np.nan), np.ones(extra)])
    assert cohen_kappa(a_more, b_more, n_categories=k) == cohen_kappa(a, b, n_categories=k)


def test_fleiss_interval_leaves_degenerate_resamples_out() -> None:
    # 20 items, 3 raters, one dissenting vote: kappa (19 + 1/3)/20 against chance
    # (59/60)^2 + (1/60)^2 gives -1/59 by Fleiss (1971). Resamples without the dissenting
    # item have one category only (kappa 0/0); counted as 1.0 they stretched the 95%
    # interval to (-0.053, 1.0). Every defined resample is <= 0 here.
    codes = np.zeros((20, 3))
    codes[0, 0] = 1
    est = fleiss_kappa(codes, n_categories=2, n_boot=2000, seed=1)
    assert est.value == pytest.approx(-1 / 59)
    assert est.ci_high == pytest.approx(-1 / 59)  # the item drawn once: the same table
    assert -0.2 < est.ci_low < est.value
