"""Threshold calibration by fixed-sequence testing, after Jung, Brahman & Choi, "Trust or
Escalate: LLM Judges with Provable Guarantees for Human Agreement" (ICLR 2025,
arXiv 2407.18370), section 2: hand-computed p-values, the guarantee on simulated data,
degenerate inputs, input checks and Hypothesis properties."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy.stats import binom
from statsmodels.stats.proportion import proportion_confint

from routing.calibration import (
    Calibration,
    calibrate,
    disagreement_p_value,
    min_certifiable_items,
    min_robust_items,
    risk_upper_bound,
)
from routing.calibration_check import apply_split, evaluate_threshold

PROPERTIES = settings(max_examples=60, deadline=None, database=None)
REPS = 200


def simulate(rng: np.random.Generator, n: int) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Confidence c ~ U(0, 1); the panel disagrees with the human with probability
    (1 - c)^2 / 2, so the true risk above a threshold t is (1 - t)^2 / 6 (`true_risk`)."""
    c = rng.uniform(0.0, 1.0, n)
    agree = (rng.uniform(0.0, 1.0, n) >= (1.0 - c) ** 2 / 2.0).astype(np.int64)
    return c, agree


def true_risk(threshold: float) -> float:
    """P(disagree | c >= t) under `simulate`: the mean of (1 - c)^2 / 2 over c in [t, 1]."""
    return 0.0 if math.isinf(threshold) else (1.0 - threshold) ** 2 / 6.0


# --- The p-value and the bound, by hand and against scipy / statsmodels --------------------


@pytest.mark.parametrize(
    ("n", "k", "alpha", "by_hand"),
    [
        # P(Bin(n, a) <= k) summed term by term: sum_{j<=k} C(n, j) a^j (1 - a)^(n - j).
        (10, 0, 0.1, 0.9**10),  # 0.3487: 10 clean items cannot certify alpha = 0.1
        (29, 0, 0.1, 0.9**29),  # 0.0471: the fewest clean items that certify at delta 0.05
        (50, 1, 0.1, 0.9**50 + 50 * 0.1 * 0.9**49),
        (80, 2, 0.1, 0.9**80 + 80 * 0.1 * 0.9**79 + 3160 * 0.1**2 * 0.9**78),
        (40, 3, 0.2, sum(math.comb(40, j) * 0.2**j * 0.8 ** (40 - j) for j in range(4))),
        (20, 20, 0.1, 1.0),
    ],
)
def test_p_value_by_hand_and_scipy(n: int, k: int, alpha: float, by_hand: float) -> None:
    p = disagreement_p_value(n, k, alpha)
    assert p == pytest.approx(by_hand, rel=1e-12, abs=1e-15)
    assert p == pytest.approx(float(binom.cdf(k, n, alpha)), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(("n", "k"), [(30, 0), (40, 1), (80, 4), (200, 13), (50, 50)])
@pytest.mark.parametrize("delta", [0.05, 0.1])
def test_upper_bound_is_one_sided_clopper_pearson(n: int, k: int, delta: float) -> None:
    # The two-sided Clopper-Pearson interval at 1 - 2*delta has the one-sided upper limit
    # at 1 - delta (statsmodels `proportion_confint`, method="beta").
    _, upper = proportion_confint(k, n, alpha=2 * delta, method="beta")
    assert risk_upper_bound(n, k, delta) == pytest.approx(upper, rel=1e-9)
    # Duality used by the paper: p <= delta exactly when the upper bound is <= alpha.
    for alpha in (0.05, 0.1, 0.2):
        certifies = disagreement_p_value(n, k, alpha) <= delta
        assert certifies == (risk_upper_bound(n, k, delta) <= alpha + 1e-12)


@pytest.mark.parametrize(("alpha", "delta"), [(0.1, 0.05), (0.05, 0.05), (0.01, 0.1), (0.2, 0.2)])
def test_min_certifiable_items(alpha: float, delta: float) -> None:
    m = min_certifiable_items(alpha, delta)
    assert (1 - alpha) ** m <= delta < (1 - alpha) ** (m - 1)
    assert (min_certifiable_items(0.1, 0.05), min_certifiable_items(0.05, 0.05)) == (29, 59)


# --- A worked example ---------------------------------------------------------------------


def three_levels(disagree_mid: int) -> tuple[list[float], list[int]]:
    """40 items at 0.9 (none disagree), 40 at 0.7 (`disagree_mid` disagree), 20 at 0.5
    (10 disagree)."""
    c = [0.9] * 40 + [0.7] * 40 + [0.5] * 20
    a = [1] * 40 + [1] * (40 - disagree_mid) + [0] * disagree_mid + [1] * 10 + [0] * 10
    return c, a


def test_worked_example_walk_stops_at_first_failure() -> None:
    # alpha 0.1, delta 0.05, with the paper's code's floor of 30 items.
    # At 0.9: n=40, k=0, p = 0.9^40 = 0.0148, passes.
    # At 0.7: n=80, k=2, p = 0.9^78 (0.81 + 7.2 + 31.6) = 0.0107, passes.
    # At 0.5: n=100, k=12, p = P(Bin(100, 0.1) <= 12) = 0.80, fails: threshold 0.7.
    cal = calibrate(*three_levels(2), alpha=0.1, delta=0.05, min_items=30)
    assert cal.certified and cal.threshold == 0.7
    assert (cal.n_items, cal.n_above, cal.disagreements) == (100, 80, 2)
    assert cal.coverage == 0.8 and cal.risk == pytest.approx(0.025)
    assert cal.p_value == pytest.approx(0.9**78 * (0.81 + 7.2 + 31.6), rel=1e-12)
    assert cal.risk_upper == pytest.approx(risk_upper_bound(80, 2, 0.05))
    assert cal.risk_upper <= 0.1
    assert [p.threshold for p in cal.curve] == [0.9, 0.7, 0.5]
    assert [p.certified for p in cal.curve] == [True, True, False]
    assert cal.curve[2].p_value == pytest.approx(float(binom.cdf(12, 100, 0.1)))

    # With 4 disagreements at 0.7, p = P(Bin(80, 0.1) <= 4) = 0.088 > 0.05: the walk stops
    # there, and 0.9 is the answer.
    cal = calibrate(*three_levels(4), alpha=0.1, delta=0.05, min_items=30)
    assert cal.threshold == 0.9 and cal.coverage == 0.4 and cal.risk == 0.0
    assert cal.p_value == pytest.approx(0.9**40)


def test_walk_does_not_resume_after_a_failure() -> None:
    # Fixed-sequence testing stops at the first failure even if a lower threshold would
    # pass on its own: 0.7 fails (p = 0.088), 0.5 with 30 more clean items passes alone.
    c, a = three_levels(4)
    c, a = c[:80] + [0.5] * 100, a[:80] + [1] * 100
    cal = calibrate(c, a, alpha=0.1, delta=0.05, min_items=30)
    assert disagreement_p_value(180, 4, 0.1) <= 0.05
    assert cal.threshold == 0.9
    assert [p.certified for p in cal.curve] == [True, False, False]


# --- The guarantee on simulated data ------------------------------------------------------


def test_guarantee_holds_in_at_least_one_minus_delta_of_runs() -> None:
    # Over REPS seeded calibration sets of 600 items, the true risk above the chosen
    # threshold must be <= alpha in >= 1 - delta of runs. The expected failure count is
    # at most 0.05 * 200 = 10; allow Monte Carlo slack up to the binomial 99.9% quantile.
    alpha, delta = 0.1, 0.05
    rng = np.random.default_rng(20240726)
    failures = 0
    thresholds = []
    for _ in range(REPS):
        c, a = simulate(rng, 600)
        cal = calibrate(c, a, alpha=alpha, delta=delta, max_candidates=200)
        thresholds.append(cal.threshold)
        failures += true_risk(cal.threshold) > alpha
    assert failures <= binom.ppf(0.999, REPS, delta)
    # The oracle threshold is 1 - sqrt(0.6) = 0.225 (risk exactly 0.1, coverage 0.775);
    # the guarantee costs some coverage, but most runs should certify well below 0.5.
    assert 0.225 < float(np.median(thresholds)) < 0.45
    assert sum(math.isinf(t) for t in thresholds) <= REPS // 20


def test_split_backtest_held_out_risk() -> None:
    # Calibrate on 25% of 2400 items, check on the other 1800: the achieved held-out rate
    # should stay within alpha in >= 1 - delta of runs (same slack as above).
    alpha, delta = 0.1, 0.05
    rng = np.random.default_rng(7)
    misses = 0
    for rep in range(REPS):
        c, a = simulate(rng, 2400)
        bt = apply_split(
            c,
            a,
            alpha=alpha,
            delta=delta,
            calibration_fraction=0.25,
            seed=rep,
            max_candidates=200,
        )
        assert bt.calibration.n_items == 600 and bt.held_out.n_items == 1800
        assert bt.held_out.threshold == bt.calibration.threshold
        misses += not bt.within_alpha
    assert misses <= binom.ppf(0.999, REPS, delta)


def test_coverage_grows_with_alpha() -> None:
    rng = np.random.default_rng(3)
    c, a = simulate(rng, 2000)
    alphas = [0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3]
    coverage = [calibrate(c, a, alpha=x, delta=0.05).coverage for x in alphas]
    assert coverage == sorted(coverage)
    assert coverage[0] < coverage[-1]
    # alpha 0.3 exceeds the overall risk (1/6): the whole set can be auto-decided.
    assert coverage[-1] == 1.0


def test_discrete_confidence_with_ties() -> None:
    # Quorum's confidence takes few values ((k + 1) / (n + 2)); ties share a threshold.
    rng = np.random.default_rng(11)
    levels = np.array([0.2, 0.4, 0.6, 0.8, 6 / 7])
    c = rng.choice(levels, 1000)
    a = (rng.uniform(size=1000) >= (1 - c) / 2).astype(int)
    cal = calibrate(c, a, alpha=0.15)
    assert [p.threshold for p in cal.curve] == sorted(levels.tolist(), reverse=True)
    assert cal.certified and cal.threshold in levels
    assert cal.n_above == int((c >= cal.threshold).sum())


# --- Degenerate inputs --------------------------------------------------------------------


def test_all_agree_certifies_lowest_threshold_with_enough_items() -> None:
    c = np.linspace(0.1, 0.9, 100)
    cal = calibrate(c, np.ones(100), alpha=0.1, delta=0.05)
    assert cal.certified and cal.threshold == pytest.approx(0.1)
    assert cal.coverage == 1.0 and cal.risk == 0.0
    assert all(p.certified for p in cal.curve if p.tested)
    # The top 45 candidates have fewer than min_robust_items(0.1, 0.05) = 46 items
    # above: skipped, not failed.
    assert [p.tested for p in cal.curve] == [False] * 45 + [True] * 55


def test_too_few_clean_items_to_certify_are_skipped_not_failed() -> None:
    # alpha 0.05 needs 59 clean items (0.95^59 <= 0.05 < 0.95^58): candidates with 30..58
    # items above could never pass; testing them would end the walk for nothing.
    c = np.linspace(0.1, 0.9, 100)
    cal = calibrate(c, np.ones(100), alpha=0.05, delta=0.05, min_items=30)
    assert cal.min_items == 30 and cal.min_testable == 59
    assert cal.certified and cal.coverage == 1.0
    assert sum(p.tested for p in cal.curve) == 100 - 58


def test_all_disagree_is_not_certified() -> None:
    cal = calibrate(np.linspace(0, 1, 200), np.zeros(200), alpha=0.1)
    assert not cal.certified
    assert cal.threshold == math.inf and cal.coverage == 0.0 and cal.n_above == 0
    assert math.isnan(cal.risk) and math.isnan(cal.p_value) and cal.risk_upper == 1.0
    assert not any(p.certified for p in cal.curve)


@pytest.mark.parametrize(
    ("alpha", "delta", "expected"),
    [(0.2, 0.1, 18), (0.1, 0.1, 38), (0.05, 0.1, 77), (0.1, 0.05, 46), (0.05, 0.05, 93)],
)
def test_min_robust_items_is_where_one_disagreement_can_pass(
    alpha: float, delta: float, expected: int
) -> None:
    # By brute force over the exact binomial p-value of one disagreement among n items.
    first = next(n for n in range(1, 1000) if binom.cdf(1, n, alpha) <= delta)
    assert min_robust_items(alpha, delta) == first == expected
    assert calibrate([0.9] * expected, [1] * expected, alpha=alpha, delta=delta).min_testable == (
        expected
    )


def test_one_disagreement_at_the_top_does_not_end_the_walk() -> None:
    # alpha 0.1, delta 0.1. The 30 most confident items hold one disagreement
    # (p = P(Bin(30, 0.1) <= 1) = 0.18 > 0.1): a walk that starts there (the paper code's
    # floor of 30) fails at once and certifies nothing. The default walk starts at 38
    # items above (one disagreement can pass: p = 0.095), and certifies down to 0.5.
    c = [0.95] * 30 + [0.9] * 20 + [0.5] * 50
    a = [0] + [1] * 29 + [1] * 20 + [1] * 47 + [0] * 3
    strict = calibrate(c, a, alpha=0.1, delta=0.1, min_items=30)
    assert not strict.certified and strict.curve[0].tested
    assert strict.curve[0].p_value == pytest.approx(float(binom.cdf(1, 30, 0.1)))
    cal = calibrate(c, a, alpha=0.1, delta=0.1)
    assert cal.min_items is None and cal.min_testable == 38
    assert [p.tested for p in cal.curve] == [False, True, True]
    assert cal.certified and cal.threshold == 0.5 and cal.coverage == 1.0
    assert cal.p_value == pytest.approx(float(binom.cdf(4, 100, 0.1)))


def test_a_small_calibration_set_can_certify() -> None:
    # 23 reviewed items, 22 agreeing (a 46-item set's calibration half): at alpha 0.2,
    # delta 0.1 the default floor is 18 items, so the walk tests 0.9 (21 items above, one
    # disagreement: p = 0.058) and 0.4 (all 23: p = 0.040), and certifies both; under a
    # floor of 30 nothing could be tested.
    c = [0.9] * 21 + [0.4] * 2
    a = [1] * 20 + [0] + [1] * 2
    cal = calibrate(c, a, alpha=0.2, delta=0.1)
    assert cal.certified and cal.n_above == 23
    assert not calibrate(c, a, alpha=0.2, delta=0.1, min_items=30).certified


def test_fewer_than_min_items_is_not_certified() -> None:
    cal = calibrate([0.9] * 29, [1] * 29, alpha=0.1)
    assert not cal.certified and cal.threshold == math.inf
    assert len(cal.curve) == 1 and not cal.curve[0].tested
    # The same 29 clean items certify when min_items allows it (0.9^29 = 0.047).
    assert calibrate([0.9] * 29, [1] * 29, alpha=0.1, min_items=10).certified


def test_evaluate_threshold_at_infinity() -> None:
    r = evaluate_threshold([0.2, 0.9], [1, 0], math.inf)
    assert (r.n_above, r.coverage, r.risk_upper) == (0, 0.0, 1.0) and math.isnan(r.risk)
    r = evaluate_threshold([0.2, 0.9, 0.9], [1, 0, 1], 0.9)
    assert (r.n_above, r.disagreements, r.coverage, r.risk) == (2, 1, 2 / 3, 0.5)


# --- Bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("confidence", "agree", "kwargs", "match"),
    [
        ([0.5, 0.6], [1], {}, "same length"),
        ([], [], {}, "no items"),
        ([0.5], [1], {"alpha": 0.0}, "alpha"),
        ([0.5], [1], {"alpha": 1.0}, "alpha"),
        ([0.5], [1], {"alpha": math.nan}, "alpha"),
        ([0.5], [1], {"delta": 0.0}, "delta"),
        ([0.5], [1], {"delta": 1.5}, "delta"),
        ([0.5, math.nan], [1, 1], {}, "finite"),
        ([0.5, math.inf], [1, 1], {}, "finite"),
        ([0.5, 1.2], [1, 1], {}, r"\[0, 1\]"),
        ([0.5, 0.6], [1, 2], {}, "0 or 1"),
        ([0.5, 0.6], [1, 0.5], {}, "0 or 1"),
        ([0.5, 0.6], [1, math.nan], {}, "0 or 1"),
        ([[0.5, 0.6]], [[1, 1]], {}, "1-D"),
        (["a", "b"], [1, 1], {}, "numeric"),
        ([0.5], [1], {"min_items": 0}, "min_items"),
        ([0.5], [1], {"max_candidates": 1}, "max_candidates"),
    ],
)
def test_bad_input_raises(confidence: Any, agree: Any, kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"alpha": 0.1, "delta": 0.05, **kwargs}
    with pytest.raises(ValueError, match=match):
        calibrate(confidence, agree, **args)


@pytest.mark.parametrize(("fraction", "n"), [(0.0, 10), (1.0, 10), (0.01, 10), (0.99, 10)])
def test_apply_split_bad_fraction(fraction: float, n: int) -> None:
    with pytest.raises(ValueError, match=r"calibration_fraction|empty"):
        apply_split(np.linspace(0, 1, n), np.ones(n), alpha=0.1, calibration_fraction=fraction)


def test_apply_split_is_reproducible() -> None:
    c, a = simulate(np.random.default_rng(5), 400)
    assert apply_split(c, a, alpha=0.1, seed=1) == apply_split(c, a, alpha=0.1, seed=1)


def test_p_value_and_bound_reject_bad_counts() -> None:
    with pytest.raises(ValueError):
        disagreement_p_value(0, 0, 0.1)
    with pytest.raises(ValueError):
        disagreement_p_value(5, 6, 0.1)
    with pytest.raises(ValueError):
        risk_upper_bound(5, -1, 0.05)
    with pytest.raises(ValueError, match="NaN"):
        evaluate_threshold([0.5], [1], math.nan)


# --- Properties ---------------------------------------------------------------------------


@st.composite
def items(draw: st.DrawFn) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Up to 300 items with confidences on a coarse grid (ties) and a risk falling with c."""
    n = draw(st.integers(1, 300))
    seed = draw(st.integers(0, 2**32 - 1))
    levels = draw(st.integers(2, 40))
    slope = draw(st.floats(0.0, 1.0))
    rng = np.random.default_rng(seed)
    c = rng.integers(0, levels + 1, n) / levels
    a = (rng.uniform(size=n) >= slope * (1 - c)).astype(np.int64)
    return c, a


def check_invariants(cal: Calibration, c: NDArray[np.float64], a: NDArray[np.int64]) -> None:
    candidates = [p.threshold for p in cal.curve]
    assert candidates == sorted(set(candidates), reverse=True)
    assert set(candidates) <= set(c.tolist())
    assert cal.threshold == math.inf or cal.threshold in candidates
    if cal.n_above:
        assert cal.risk <= cal.risk_upper
    # The certified points are exactly a prefix of the tested ones.
    flags = [p.certified for p in cal.curve if p.tested]
    assert flags == sorted(flags, reverse=True)
    assert cal.certified == any(flags)
    if cal.certified:
        assert cal.p_value <= cal.delta and cal.risk_upper <= cal.alpha + 1e-12
        assert cal.n_above >= cal.min_testable
        assert cal.threshold == min(p.threshold for p in cal.curve if p.certified)
    check = evaluate_threshold(c, a, cal.threshold, delta=cal.delta)
    assert (check.n_above, check.disagreements) == (cal.n_above, cal.disagreements)
    assert check.coverage == pytest.approx(cal.coverage)


@PROPERTIES
@given(
    data=items(),
    alpha=st.floats(0.01, 0.5),
    delta=st.floats(0.01, 0.3),
    min_items=st.integers(1, 60),
    max_candidates=st.none() | st.integers(2, 30),
)
def test_properties(
    data: tuple[NDArray[np.float64], NDArray[np.int64]],
    alpha: float,
    delta: float,
    min_items: int,
    max_candidates: int | None,
) -> None:
    c, a = data
    cal = calibrate(
        c, a, alpha=alpha, delta=delta, min_items=min_items, max_candidates=max_candidates
    )
    check_invariants(cal, c, a)
    if max_candidates is not None:
        assert len(cal.curve) <= max_candidates


@PROPERTIES
@given(data=items(), alphas=st.lists(st.floats(0.01, 0.5), min_size=2, max_size=2))
def test_coverage_is_monotone_in_alpha(
    data: tuple[NDArray[np.float64], NDArray[np.int64]], alphas: list[float]
) -> None:
    # p = P(Bin(n, alpha) <= k) falls as alpha grows, so every test that passed still
    # passes and the walk can only go further down.
    c, a = data
    low, high = sorted(alphas)
    assert calibrate(c, a, alpha=low).coverage <= calibrate(c, a, alpha=high).coverage


def test_reviews_to_certify_is_the_smallest_count_that_passes() -> None:
    from routing.calibration import reviews_to_certify

    # alpha = delta = 0.1: 0.9^22 = 0.098 <= 0.1 < 0.9^21, but by default a threshold is
    # tested only with 38 items above (min_robust_items), and with min_items=30, 30.
    assert min_certifiable_items(0.1, 0.1) == 22
    assert reviews_to_certify(8, 0, alpha=0.1, delta=0.1) == 30
    assert reviews_to_certify(8, 0, alpha=0.1, delta=0.1, min_items=30) == 22
    assert reviews_to_certify(8, 0, alpha=0.1, delta=0.1, min_items=1) == 14
    # With disagreements, by brute force over the binomial p-value.
    for n, k in [(40, 6), (30, 3), (100, 20), (5, 5)]:
        m = reviews_to_certify(n, k, alpha=0.1, delta=0.05, min_items=1)
        assert binom.cdf(k, n + m, 0.1) <= 0.05
        assert m == 0 or binom.cdf(k, n + m - 1, 0.1) > 0.05 or n + m - 1 < 29
    assert reviews_to_certify(100, 0, alpha=0.1, delta=0.1) == 0
