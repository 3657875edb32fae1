"""Cohen's kappa (two raters, optionally weighted) and Fleiss' kappa (many raters).

Input is a code matrix as described in `routing.stat_result`: items in rows, raters in
columns, category indices 0..k-1, NaN for a missing vote. Missing votes are skipped,
never scored as disagreement: Cohen's kappa uses the items both raters rated, Fleiss'
kappa the items every rater rated (use `routing.krippendorff` when votes are missing
unevenly). When every usable vote falls in one category, chance agreement is already
perfect and kappa is 0/0; it is reported as 1.0 with `degenerate=True`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm
from statsmodels.stats.inter_rater import fleiss_kappa as _sm_fleiss_kappa

from routing.stat_result import (
    AgreementEstimate,
    PairwiseKappa,
    as_code_matrix,
    bootstrap_interval,
    check_interval_args,
    resolve_n_categories,
)

Weighting = Literal["none", "linear", "quadratic"]
"""Disagreement weights for Cohen's kappa: none (nominal), or linear / quadratic
(Cicchetti-Allison / Fleiss-Cohen) in the distance between scale indices (ordinal)."""

__all__ = [
    "Weighting",
    "cohen_kappa",
    "cohen_kappa_from_table",
    "cohen_kappa_matrix",
    "fleiss_kappa",
]


def cohen_kappa(
    rater_a: ArrayLike,
    rater_b: ArrayLike,
    *,
    weights: Weighting = "none",
    n_categories: int | None = None,
    confidence: float = 0.95,
) -> AgreementEstimate:
    """Cohen's kappa between two raters' codes (1-D, one entry per item, NaN = missing).

    Items where either rater is missing are dropped. The interval is the Wald interval
    from the large-sample standard error of Fleiss, Cohen & Everitt (1969), clipped to
    kappa's range. `n_categories` is the scale size (default: largest code + 1); it
    matters for weighted kappa only through which codes are allowed.
    """
    a = np.asarray(rater_a)
    b = np.asarray(rater_b)
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ValueError(
            f"rater_a and rater_b must be 1-D of equal length; got {a.shape} and {b.shape}"
        )
    codes = as_code_matrix(np.column_stack([a, b]))
    return _pair_kappa(codes[:, 0], codes[:, 1], weights, n_categories, confidence)


def cohen_kappa_matrix(
    codes: ArrayLike,
    *,
    weights: Weighting = "none",
    n_categories: int | None = None,
    confidence: float = 0.95,
) -> PairwiseKappa:
    """Cohen's kappa for every pair of judges (items in rows, judges in columns).

    Each pair uses the items on which both judges have a usable (non-NaN) vote; pairs
    with no such item get None. All pairs share one scale, of size `n_categories`
    (default: largest code in the matrix + 1).
    """
    arr = as_code_matrix(codes)
    present = ~np.isnan(arr)
    if not present.any():
        raise ValueError("codes holds no usable vote (all NaN)")
    k = resolve_n_categories(float(np.nanmax(arr)), n_categories)
    n_raters = arr.shape[1]
    grid: list[list[AgreementEstimate | None]] = [[None] * n_raters for _ in range(n_raters)]
    for i in range(n_raters):
        for j in range(i + 1, n_raters):
            if np.any(present[:, i] & present[:, j]):
                est = _pair_kappa(arr[:, i], arr[:, j], weights, k, confidence)
                grid[i][j] = grid[j][i] = est
    return PairwiseKappa(n_raters=n_raters, estimates=tuple(tuple(row) for row in grid))


def cohen_kappa_from_table(
    table: ArrayLike, *, weights: Weighting = "none", confidence: float = 0.95
) -> AgreementEstimate:
    """Cohen's kappa from a k x k contingency table (rater A in rows, rater B in columns).

    Cell (i, j) counts the items A put in category i and B in category j.
    """
    t = np.asarray(table, dtype=np.float64)
    if t.ndim != 2 or t.shape[0] != t.shape[1] or t.shape[0] < 2:
        raise ValueError(f"table must be square with at least 2 categories; got shape {t.shape}")
    if not np.all(np.isfinite(t)) or np.any(t < 0) or np.any(t != np.round(t)):
        raise ValueError("table counts must be non-negative integers")
    if t.sum() <= 0:
        raise ValueError("table is empty: no item rated by both raters")
    check_interval_args(confidence)
    if weights not in ("none", "linear", "quadratic"):
        raise ValueError(f"weights must be 'none', 'linear' or 'quadratic'; got {weights!r}")
    return _kappa_from_table(t, weights, confidence)


def fleiss_kappa(
    codes: ArrayLike,
    *,
    n_categories: int | None = None,
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> AgreementEstimate:
    """Fleiss' kappa over the items every rater rated (items in rows, raters in columns).

    The value is statsmodels' `fleiss_kappa` on the item-by-category count table. The
    interval is a percentile bootstrap over items (`n_boot` resamples, seeded; n_boot=0
    gives no interval): Fleiss' asymptotic standard error holds only under kappa = 0, so
    it gives a test, not an interval for the estimate. Resamples with every vote in one
    category (kappa 0/0) are left out of the interval (`bootstrap_interval`).
    """
    arr = as_code_matrix(codes)
    check_interval_args(confidence, n_boot)
    complete = arr[~np.isnan(arr).any(axis=1)]
    if complete.shape[0] == 0:
        raise ValueError(
            "no item was rated by every rater; Fleiss' kappa needs complete rows "
            "(use krippendorff_alpha when votes are missing)"
        )
    k = resolve_n_categories(float(complete.max()), n_categories)
    counts = (complete.astype(np.int64)[:, :, None] == np.arange(k)).sum(axis=1)
    value, degenerate = _fleiss_value(counts)
    n_items = counts.shape[0]
    low = high = se = float("nan")
    if n_boot and degenerate:
        low = high = 1.0  # every resample is the same single category: the same convention
        se = 0.0
    elif n_boot:
        rng = np.random.default_rng(seed)
        reps = _fleiss_bootstrap(counts, rng, n_boot)
        low, high, se = bootstrap_interval(reps, confidence)
    return AgreementEstimate(
        value=value,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        std_error=se,
        n_items=n_items,
        n_raters=arr.shape[1],
        method="fleiss_kappa",
        ci_method="bootstrap-percentile" if n_boot else "none",
        degenerate=degenerate,
    )


def _fleiss_value(counts: NDArray[np.int64]) -> tuple[float, bool]:
    """Fleiss' kappa of an item-by-category count table, and whether it was degenerate."""
    if np.count_nonzero(counts.sum(axis=0)) <= 1:
        return 1.0, True  # one category only: expected agreement 1, kappa 0/0
    return float(_sm_fleiss_kappa(counts)), False


def _fleiss_bootstrap(
    counts: NDArray[np.int64], rng: np.random.Generator, n_boot: int
) -> NDArray[np.float64]:
    """Fleiss' kappa of `n_boot` item resamples, from per-item sums (vectorised Fleiss 1971:
    the same formula as statsmodels, without rebuilding the table for every resample)."""
    n_items = counts.shape[0]
    raters = counts[0].sum()
    c = counts.astype(np.float64)
    p_i = ((c * c).sum(axis=1) - raters) / (raters * (raters - 1))
    reps = np.empty(n_boot)
    for b in range(n_boot):
        # How often each item was drawn: sums over the resample become dot products.
        drawn = np.bincount(rng.integers(0, n_items, n_items), minlength=n_items).astype(float)
        p_bar = drawn @ p_i / n_items
        p_j = drawn @ c / (n_items * raters)
        p_e = float((p_j * p_j).sum())
        # One category only: kappa is 0/0, undefined, and kept out of the interval.
        reps[b] = np.nan if np.count_nonzero(p_j) <= 1 else (p_bar - p_e) / (1 - p_e)
    return reps


def _pair_kappa(
    a: NDArray[np.float64],
    b: NDArray[np.float64],
    weights: Weighting,
    n_categories: int | None,
    confidence: float,
) -> AgreementEstimate:
    """Cohen's kappa of two validated code columns, over the items both rated."""
    both = ~(np.isnan(a) | np.isnan(b))
    if not both.any():
        raise ValueError("no item has a usable vote from both raters")
    k = resolve_n_categories(max(float(a[both].max()), float(b[both].max())), n_categories)
    table = np.zeros((k, k), dtype=np.float64)
    np.add.at(table, (a[both].astype(np.int64), b[both].astype(np.int64)), 1.0)
    return cohen_kappa_from_table(table, weights=weights, confidence=confidence)


def _kappa_from_table(
    table: NDArray[np.float64], weights: Weighting, confidence: float
) -> AgreementEstimate:
    """Weighted kappa and its FCE (1969) standard error; unweighted is the identity weight."""
    k = table.shape[0]
    n = float(table.sum())
    method = "cohen_kappa" if weights == "none" else f"cohen_kappa[{weights}]"
    p = table / n
    row, col = p.sum(axis=1), p.sum(axis=0)
    if np.count_nonzero(row) == 1 and np.count_nonzero(col) == 1 and row.argmax() == col.argmax():
        # Both raters used the same single category: chance agreement is 1 and kappa 0/0.
        return AgreementEstimate(
            value=1.0,
            ci_low=1.0,
            ci_high=1.0,
            confidence=confidence,
            std_error=0.0,
            n_items=int(n),
            n_raters=2,
            method=method,
            ci_method="wald",
            degenerate=True,
        )
    w = _agreement_weights(k, weights)
    p_obs = float((w * p).sum())
    p_exp = float((w * np.outer(row, col)).sum())
    kappa = (p_obs - p_exp) / (1.0 - p_exp)
    # Fleiss, Cohen & Everitt (1969), eq. for var(kappa_w); as statsmodels' var_kappa.
    w_row = w @ col  # mean agreement weight of row category i against B's margin
    w_col = row @ w  # mean agreement weight of column category j against A's margin
    spread = (w - (w_row[:, None] + w_col[None, :]) * (1.0 - kappa)) ** 2
    var = ((p * spread).sum() - (kappa - p_exp * (1.0 - kappa)) ** 2) / (n * (1.0 - p_exp) ** 2)
    se = float(np.sqrt(max(float(var), 0.0)))  # rounding can leave -1e-17 at kappa = 1
    half = float(norm.ppf(0.5 + confidence / 2.0)) * se
    return AgreementEstimate(
        value=kappa,
        ci_low=max(kappa - half, min(kappa, -1.0)),
        ci_high=min(kappa + half, 1.0),
        confidence=confidence,
        std_error=se,
        n_items=int(n),
        n_raters=2,
        method=method,
        ci_method="wald",
    )


def _agreement_weights(k: int, weights: Weighting) -> NDArray[np.float64]:
    """k x k agreement weights: 1 on the diagonal, falling with distance between indices."""
    idx = np.arange(k, dtype=np.float64)
    dist = np.abs(idx[:, None] - idx[None, :]) / (k - 1)
    if weights == "none":
        return (dist == 0).astype(np.float64)
    if weights == "linear":
        return 1.0 - dist
    if weights == "quadratic":
        return 1.0 - dist**2
    raise ValueError(f"weights must be 'none', 'linear' or 'quadratic'; got {weights!r}")
