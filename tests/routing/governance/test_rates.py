"""Compliance rates: Wilson, prediction-powered inference and the trend."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from routing.governance import Bucket, binomial_rate, ppi_rate, rate_difference, trend


# Newcombe (1998), "Two-sided confidence intervals for the single proportion: comparison
# of seven methods", Stat Med 17:857-872, Table II, method 3 (Wilson score, no continuity
# correction), 95%.
@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe_1998_table_ii(k: int, n: int, low: float, high: float) -> None:
    got = binomial_rate(k, n)
    assert (round(got.low, 4), round(got.high, 4)) == (low, high)
    assert got.value == k / n and (got.n, got.k, got.level) == (n, k, 0.95)


@pytest.mark.parametrize(("k", "n"), [(0, 1), (1, 1), (3, 3), (7, 50), (49, 50), (970, 1000)])
@pytest.mark.parametrize("level", [0.8, 0.95, 0.99])
def test_wilson_matches_statsmodels(k: int, n: int, level: float) -> None:
    low, high = proportion_confint(k, n, alpha=1 - level, method="wilson")
    got = binomial_rate(k, n, level)
    assert got.low == pytest.approx(low, abs=1e-12)
    assert got.high == pytest.approx(high, abs=1e-12)


def test_three_lucky_items_have_a_low_lower_bound() -> None:
    assert binomial_rate(3, 3).low == pytest.approx(0.4385, abs=1e-4)
    assert binomial_rate(970, 1000).low > 0.95


@pytest.mark.parametrize(
    ("k", "n", "level", "message"),
    [
        (0, 0, 0.95, "at least one item"),
        (5, 4, 0.95, "k must be in 0..n"),
        (-1, 4, 0.95, "k must be in 0..n"),
        (1, 4, 1.0, "level"),
        (1, 4, 0.0, "level"),
        (1.5, 4, 0.95, "integers"),
    ],
)
def test_binomial_rate_rejects_bad_input(k: float, n: int, level: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        binomial_rate(k, n, level)  # type: ignore[arg-type]


def _ppi_reference(f_all, f_a, y_a, lam, z=1.959963984540054):  # type: ignore[no-untyped-def]
    """Angelopoulos et al. (2023) mean estimator written out from the paper, with the
    unaudited items as the unlabelled set."""
    mask = np.ones(len(f_all), dtype=bool)
    mask[: len(f_a)] = False  # the tests put the audited items first
    f_u = np.asarray(f_all)[mask]
    rect = np.asarray(y_a) - lam * np.asarray(f_a)
    est = lam * f_u.mean() + rect.mean()
    se = np.sqrt(lam**2 * f_u.var() / f_u.size + rect.var() / rect.size)
    return est, est - z * se, est + z * se


def _world(seed: int, n_all: int, n_aud: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.random(n_all) < 0.8
    flip = rng.random(n_all) < np.where(y, 0.05, 0.4)  # judges too lenient
    f = np.where(flip, ~y, y).astype(float)
    return f, f[:n_aud], y[:n_aud].astype(float)


def test_ppi_is_the_papers_estimator() -> None:
    f_all, f_a, y_a = _world(1, 2000, 120)
    got = ppi_rate(f_all, f_a, y_a)
    est, low, high = _ppi_reference(f_all, f_a, y_a, lam=1.0)
    assert got.lam == 1.0
    assert got.value == pytest.approx(est, abs=1e-12)
    assert (got.low, got.high) == (pytest.approx(low, abs=1e-12), pytest.approx(high, abs=1e-12))
    assert got.uncorrected == pytest.approx(f_all.mean())
    assert got.correction == pytest.approx(est - f_all.mean())
    assert (got.n_all, got.n_audited) == (2000, 120)


# The authors' package, ppi_py 0.2.3 (Angelopoulos et al.): ppi_mean_pointestimate and
# ppi_mean_ci(Y=y_a, Yhat=f_a, Yhat_unlabeled=f_all[n:], alpha=0.05, lam=...) on these
# seeded worlds; lam=None is its PPI++ tuning.
@pytest.mark.parametrize(
    ("seed", "n_all", "n_aud", "tuned", "value", "low", "high"),
    [
        (1, 2000, 120, False, 0.800177304964539, 0.7254555241092568, 0.8748990858198211),
        (1, 2000, 120, True, 0.7920657282489787, 0.7269225816221103, 0.8572088748758471),
        (3, 1000, 100, False, 0.7988888888888889, 0.7250960628663891, 0.8726817149113887),
        (3, 1000, 100, True, 0.8167788732394367, 0.7511598617773552, 0.8823978847015181),
        (9, 300, 40, False, 0.7211538461538461, 0.5898939335681669, 0.8524137587395254),
        (9, 300, 40, True, 0.7134840425531916, 0.5924649687365358, 0.8345031163698475),
    ],
)
def test_ppi_matches_the_authors_package(
    seed: int, n_all: int, n_aud: int, tuned: bool, value: float, low: float, high: float
) -> None:
    got = ppi_rate(*_world(seed, n_all, n_aud), tuned=tuned)
    assert (got.value, got.low, got.high) == pytest.approx((value, low, high), abs=1e-12)


def test_ppi_does_not_depend_on_where_the_audited_items_are() -> None:
    f_all, f_a, y_a = _world(2, 500, 60)
    shuffled = np.random.default_rng(0).permutation(f_all)
    assert ppi_rate(shuffled, f_a, y_a) == ppi_rate(f_all, f_a, y_a)


def test_ppi_plus_plus_lambda_is_the_variance_minimiser() -> None:
    # PPI++ (Angelopoulos, Duchi & Zrnic 2023, arXiv 2311.01453), mean estimation:
    # lambda = cov(y, f) / ((1 + n / N) var(f)), N the unlabelled count.
    f_all, f_a, y_a = _world(3, 1000, 100)
    got = ppi_rate(f_all, f_a, y_a, tuned=True)
    lam = np.cov(y_a, f_a, bias=True)[0, 1] / ((1 + 100 / 900) * np.var(f_all, ddof=1))
    assert got.lam == pytest.approx(lam, abs=1e-12)
    est, low, high = _ppi_reference(f_all, f_a, y_a, lam=lam)
    assert (got.value, got.low, got.high) == pytest.approx((est, low, high), abs=1e-12)
    assert got.std_error <= ppi_rate(f_all, f_a, y_a).std_error + 1e-12


def test_ppi_with_useless_judges_falls_back_on_the_audit() -> None:
    rng = np.random.default_rng(4)
    f_all = (rng.random(1000) < 0.5).astype(float)
    y_a = (rng.random(200) < 0.7).astype(float)  # judges independent of the humans
    got = ppi_rate(f_all, f_all[:200], y_a, tuned=True)
    assert got.lam < 0.2
    assert abs(got.value - y_a.mean()) < 2 * got.std_error


def test_ppi_when_every_item_is_audited_is_the_human_mean() -> None:
    f = np.array([1, 1, 0, 1, 0, 1.0])
    y = np.array([1, 0, 0, 1, 1, 1.0])
    got = ppi_rate(f, f, y)
    assert got.value == pytest.approx(y.mean()) and got.lam == 0.0
    assert got.std_error == pytest.approx(y.std() / np.sqrt(6))


@pytest.mark.parametrize(
    ("f_all", "f_a", "y_a", "message"),
    [
        ([1, 0, 1], [1], [1], "at least 2 audited"),
        ([1, 0, 1], [1, 0], [1], "one value per audited item"),
        ([1, 0], [1, 0, 1], [1, 0, 1], "must include"),
        ([0, 0, 0, 0], [1, 1], [1, 1], "not among predicted_all"),
        ([1, 0, 1], [1, 0], [1, 0.5], "0/1"),
        ([1, np.nan, 1], [1, 1], [1, 0], "finite"),
        ([[1, 0]], [1, 0], [1, 0], "1-D"),
        ([1, 2, 1], [1, 1], [1, 0], r"\[0, 1\]"),
    ],
)
def test_ppi_rejects_bad_input(f_all: object, f_a: object, y_a: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ppi_rate(f_all, f_a, y_a)  # type: ignore[arg-type]


def test_ppi_covers_where_the_biased_judges_do_not() -> None:
    """Simulation (seeded): true compliance 0.80, judges that pass 40% of the non-compliant
    items and fail 5% of the compliant ones (their rate is about 0.84), N = 2000 items, a
    uniform 10% audit (about 200 audited). Over 1000 worlds the 95% PPI interval covers
    the true rate at about 95%; the judges' Wilson interval almost never does."""
    rng = np.random.default_rng(20231110)
    worlds, n_all, audit, true = 1000, 2000, 0.1, 0.8
    y = rng.random((worlds, n_all)) < true
    flip = rng.random((worlds, n_all)) < np.where(y, 0.05, 0.4)
    f = np.where(flip, ~y, y)
    audited = rng.random((worlds, n_all)) < audit
    covered = {"ppi": 0, "ppi++": 0, "judges": 0}
    for w in range(worlds):
        a = audited[w]
        for name, tuned in (("ppi", False), ("ppi++", True)):
            got = ppi_rate(f[w], f[w][a], y[w][a], tuned=tuned)
            covered[name] += got.low <= true <= got.high
        judges = binomial_rate(int(f[w].sum()), n_all)
        covered["judges"] += judges.low <= true <= judges.high
    # binomial tolerance: the sd of a 95% coverage over 1000 worlds is 0.0069; allow 3 sd
    assert abs(covered["ppi"] / worlds - 0.95) < 0.021
    assert abs(covered["ppi++"] / worlds - 0.95) < 0.021
    assert covered["judges"] / worlds < 0.05


def _day(i: int) -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=i)


# Newcombe (1998b), "Interval estimation for the difference between independent
# proportions: comparison of eleven methods", Stat Med 17:873-890, Table II, method 10
# (hybrid score), 95%.
@pytest.mark.parametrize(
    ("k2", "n2", "k1", "n1", "low", "high"),
    [
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.0582, 0.8062),
        (5, 56, 0, 29, -0.0381, 0.1926),
        (0, 10, 0, 20, -0.1611, 0.2775),
        (10, 10, 0, 20, 0.6791, 1.0000),
    ],
)
def test_rate_difference_matches_newcombe_1998b(
    k2: int, n2: int, k1: int, n1: int, low: float, high: float
) -> None:
    got = rate_difference(binomial_rate(k2, n2), binomial_rate(k1, n1))
    assert (round(got.low, 4), round(got.high, 4)) == (low, high)
    ref = confint_proportions_2indep(k2, n2, k1, n1, method="newcomb", compare="diff")
    assert (got.low, got.high) == pytest.approx(ref, abs=1e-10)


def test_trend_compares_the_halves() -> None:
    buckets = [Bucket(start=_day(i), k=k, n=50) for i, k in enumerate([48, 47, 49, 30, 31, 29])]
    got = trend(buckets)
    assert got.change is not None
    assert (got.change.first.k, got.change.first.n) == (144, 150)
    assert (got.change.last.k, got.change.last.n) == (90, 150)
    assert got.change.value == pytest.approx(90 / 150 - 144 / 150)
    assert got.direction == "down"
    assert [p.rate.k for p in got.points if p.rate] == [48, 47, 49, 30, 31, 29]


def test_trend_leaves_out_the_middle_bucket_and_empty_buckets() -> None:
    buckets = [
        Bucket(start=_day(0), k=10, n=10),
        Bucket(start=_day(1), k=0, n=0),
        Bucket(start=_day(2), k=0, n=50),
        Bucket(start=_day(3), k=9, n=10),
        Bucket(start=_day(4), k=8, n=10),
    ]
    got = trend(buckets)
    assert got.points[1].rate is None
    assert got.change is not None
    assert (got.change.first.n, got.change.last.n) == (10, 20)
    assert got.direction == "flat"


def test_trend_without_two_halves_has_no_change() -> None:
    assert trend([]).direction == "unknown"
    assert trend([Bucket(start=_day(0), k=1, n=2)]).change is None
    empty_half = [Bucket(start=_day(0), k=0, n=0), Bucket(start=_day(1), k=1, n=2)]
    assert trend(empty_half).direction == "unknown"


def test_trend_rejects_unordered_or_impossible_buckets() -> None:
    with pytest.raises(ValueError, match="time order"):
        trend([Bucket(start=_day(1), k=1, n=1), Bucket(start=_day(0), k=1, n=1)])
    with pytest.raises(ValueError, match="exceeds"):
        trend([Bucket(start=_day(0), k=3, n=2)])


def test_agreeing_audits_never_make_the_interval_a_point() -> None:
    """Every audit agreeing gave a sample variance of 0, so the interval was a point: 30
    agreeing audits of 1,000 compliant verdicts gave [1.0, 1.0], and seven lucky audits
    out-ranked 49 with one disagreement on the lower bound (the routing recommendation's
    rule). The audited term's variance is floored at an Agresti-Coull disagreement rate
    of zero in n."""
    certain = ppi_rate([1] * 1000, [1] * 30, [1] * 30)
    assert certain.value == 1.0 and certain.high == 1.0
    z2 = 1.959963984540054**2
    p = (z2 / 2) / (30 + z2)
    assert certain.low == pytest.approx(1 - math.sqrt(z2 * p * (1 - p) / 30), abs=1e-12)
    assert 0.9 < certain.low < 0.93
    lucky = ppi_rate([1] * 20, [1] * 7, [1] * 7)
    record = ppi_rate([1] * 150, [1] * 49, [1] * 48 + [0])
    assert lucky.low < record.low < record.value < 1.0
    # Overruled in every audit: the same holds at the other end.
    overruled = ppi_rate([1] * 100, [1] * 21, [0] * 21)
    assert overruled.value == 0.0 and overruled.low == 0.0 and overruled.high > 0.05
