"""Compliance rates with intervals: Wilson, prediction-powered inference, and a trend.

Every rate here is the mean of a 0/1 outcome over judged items (1 = compliant), with
`n/a` verdicts left out before the call. Three estimators:

- `binomial_rate(k, n)`: the judges' rate k / n with the Wilson (1927) score interval,
  the interval recommended over the Wald one by Newcombe (1998, "Two-sided confidence
  intervals for the single proportion: comparison of seven methods", Stat Med 17:857).
- `ppi_rate(predicted_all, audited_pred, audited_true)`: the rate corrected for the
  judges' errors by prediction-powered inference (Angelopoulos, Bates, Fannjiang, Jordan &
  Zrnic, "Prediction-powered inference", Science 382, 2023), optionally power-tuned
  (PPI++: Angelopoulos, Duchi & Zrnic, arXiv 2311.01453, 2023). See `ppi_rate`.
- `trend(buckets)`: per-bucket Wilson rates and the change from the first half of the
  window to the last, with Newcombe's (1998b, Stat Med 17:873, method 10) hybrid score
  interval for a difference of proportions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field
from scipy.stats import norm

__all__ = [
    "Bucket",
    "Change",
    "CorrectedRate",
    "Rate",
    "Trend",
    "TrendPoint",
    "binomial_rate",
    "ppi_rate",
    "rate_difference",
    "trend",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class Rate(BaseModel):
    """A share of items with its two-sided Wilson score interval."""

    model_config = _FROZEN

    n: int = Field(ge=1)
    """Items that entered the rate (decided, applicable)."""
    k: int = Field(ge=0)
    """Items with the outcome (compliant)."""
    value: float = Field(ge=0.0, le=1.0)
    """k / n."""
    low: float = Field(ge=0.0, le=1.0)
    """Lower limit of the interval."""
    high: float = Field(ge=0.0, le=1.0)
    """Upper limit of the interval."""
    level: float = Field(gt=0.0, lt=1.0)
    """Nominal two-sided coverage of [low, high], e.g. 0.95."""


class CorrectedRate(BaseModel):
    """A rate corrected for the judges' errors on a uniform audit sample (PPI)."""

    model_config = _FROZEN

    value: float
    """The prediction-powered estimate, clipped to [0, 1]."""
    low: float = Field(ge=0.0, le=1.0)
    """Lower limit of the interval (normal approximation, clipped to [0, 1])."""
    high: float = Field(ge=0.0, le=1.0)
    """Upper limit of the interval."""
    level: float = Field(gt=0.0, lt=1.0)
    """Nominal two-sided coverage of [low, high]."""
    n_all: int = Field(ge=1)
    """Items the judges decided (N), the audited ones included."""
    n_audited: int = Field(ge=2)
    """Audited items (n): a uniform random sample of the N, with a human verdict."""
    uncorrected: float = Field(ge=0.0, le=1.0)
    """The judges' rate over all N items, as `binomial_rate` reports it."""
    correction: float
    """value - uncorrected (before clipping): how far the audit moved the estimate."""
    lam: float = Field(ge=0.0, le=1.0)
    """PPI's lambda (weight of the judges' predictions on the unaudited items): 1 for
    classic PPI, the PPI++ power-tuned value otherwise."""
    std_error: float = Field(ge=0.0)
    """Estimated standard error of the estimate."""


def _z(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be strictly between 0 and 1; got {level!r}")
    return float(norm.ppf(0.5 + level / 2.0))


def _wilson(k: int, n: int, z: float) -> tuple[float, float]:
    p = k / n
    denom = 1.0 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if k == 0 else max(0.0, center - half)
    high = 1.0 if k == n else min(1.0, center + half)
    return low, high


def binomial_rate(k: int, n: int, level: float = 0.95) -> Rate:
    """k successes out of n with the Wilson score interval at `level`.

    Raises ValueError unless 0 <= k <= n and n >= 1 (a rate over no item is undefined:
    callers report "no data" rather than an interval of [0, 1]).
    """
    if isinstance(k, bool) or isinstance(n, bool):
        raise TypeError("k and n are counts, not booleans")
    if int(k) != k or int(n) != n:
        raise ValueError(f"k and n must be integers; got k={k!r}, n={n!r}")
    k, n = int(k), int(n)
    if n < 1:
        raise ValueError(f"a rate needs at least one item; got n={n}")
    if not 0 <= k <= n:
        raise ValueError(f"k must be in 0..n; got k={k}, n={n}")
    low, high = _wilson(k, n, _z(level))
    return Rate(n=n, k=k, value=k / n, low=low, high=high, level=level)


def _vector(values: ArrayLike, name: str, *, binary: bool) -> NDArray[np.float64]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per item); got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (leave n/a items out)")
    if binary and not np.all((arr == 0.0) | (arr == 1.0)):
        raise ValueError(f"{name} must be 0/1 (1 = compliant)")
    if np.any((arr < 0.0) | (arr > 1.0)):
        raise ValueError(f"{name} must lie in [0, 1]")
    return arr


def ppi_rate(
    predicted_all: ArrayLike,
    audited_pred: ArrayLike,
    audited_true: ArrayLike,
    level: float = 0.95,
    *,
    tuned: bool = False,
) -> CorrectedRate:
    """The compliance rate corrected by prediction-powered inference.

    `predicted_all` holds the judges' verdict (1 = compliant) on every one of the N items
    of the window, the audited ones included. `audited_pred` and `audited_true` hold, for
    the n audited items, the judges' verdict and the human's. The audited items must be a
    uniform random sample of the N (Quorum's audit draw: an evaluation is audited when its
    hash draw is below the audit rate, whatever its content or confidence).

    With the N - n unaudited items as PPI's unlabelled set and the n audited as its
    labelled set (Angelopoulos et al. 2023, eq. 1 and the mean-estimation example):

        estimate = lam * mean_unaudited(f) + mean_audited(y - lam * f)
        se^2     = lam^2 var_unaudited(f) / (N - n) + var_audited(y - lam * f) / n

    and the interval is estimate +- z se (the unaudited moments are those of
    `predicted_all` minus the audited items'). lam = 1 is classic PPI: the judges' rate
    plus the mean human-minus-judge correction. With `tuned`, lam is the PPI++
    variance-minimising value cov(y, f) / ((1 + n / (N - n)) var(f)) (var over all N
    predictions), clipped to [0, 1]: it leans on the judges only as far as they track the
    humans, and at lam = 0 the estimate is the audited humans' mean alone. Variances and
    the covariance are the authors' package's (`ppi_py.ppi_mean_ci`: ddof = 0, except
    ddof = 1 for var(f) in lam), whose figures these reproduce. The estimate is unbiased
    for any fixed lam; the interval is a large-sample (CLT) one, so with few audited items
    or a rate near 0 or 1 it can undercover (docs/statistics.md gives simulated coverage).
    The audited term's variance is never taken below `_least_variance(n)`: with every
    audit agreeing it is 0, and the interval would be a point.

    Raises ValueError on bad shapes or values, n < 2, or audited predictions that cannot
    be a subset of `predicted_all` (their sums exceed it).
    """
    z = _z(level)
    f_all = _vector(predicted_all, "predicted_all", binary=False)
    f_a = _vector(audited_pred, "audited_pred", binary=False)
    y_a = _vector(audited_true, "audited_true", binary=True)
    n_all, n = f_all.size, f_a.size
    if y_a.size != n:
        raise ValueError(
            f"audited_pred and audited_true must have one value per audited item; "
            f"got {n} and {y_a.size}"
        )
    if n < 2:
        raise ValueError(f"PPI needs at least 2 audited items; got {n}")
    if n_all < n:
        raise ValueError(f"predicted_all ({n_all}) must include the {n} audited items")
    n_u = n_all - n
    tol = 1e-9 * max(1, n_all)
    sum_u = float(f_all.sum() - f_a.sum())
    sq_u = float((f_all**2).sum() - (f_a**2).sum())
    if sum_u < -tol or sum_u > n_u + tol or sq_u < -tol:
        raise ValueError("the audited predictions are not among predicted_all")
    mean_u = min(max(sum_u / n_u, 0.0), 1.0) if n_u else 0.0
    var_u = max(sq_u - n_u * mean_u**2, 0.0) / n_u if n_u else 0.0

    lam = 1.0 if n_u else 0.0
    if tuned and n_u:
        f_pool_var = float(np.var(f_all, ddof=1)) if n_all > 1 else 0.0
        cov = float(np.mean((y_a - y_a.mean()) * (f_a - f_a.mean())))
        lam = 0.0 if f_pool_var == 0.0 else cov / ((1.0 + n / n_u) * f_pool_var)
        lam = min(max(lam, 0.0), 1.0)
    rectifier = y_a - lam * f_a
    estimate = lam * mean_u + float(rectifier.mean())
    var = max(float(np.var(rectifier)), _least_variance(n, z)) / n
    if n_u:
        var += lam * lam * var_u / n_u
    se = math.sqrt(max(var, 0.0))
    uncorrected = float(f_all.mean())
    return CorrectedRate(
        value=min(max(estimate, 0.0), 1.0),
        low=min(max(estimate - z * se, 0.0), 1.0),
        high=min(max(estimate + z * se, 0.0), 1.0),
        level=level,
        n_all=n_all,
        n_audited=n,
        uncorrected=min(max(uncorrected, 0.0), 1.0),
        correction=estimate - uncorrected,
        lam=lam,
        std_error=se,
    )


def _least_variance(n: int, z: float) -> float:
    """The smallest variance taken for the audited correction: that of a disagreement
    rate estimated, Agresti-Coull style, from n audits that all agreed, p = (z^2/2) /
    (n + z^2), i.e. p (1 - p). When every audit agrees with the judges the sample variance
    is 0 and the CLT interval a point (30 agreeing audits "certified" a rate of exactly
    1.0, and seven lucky ones beat 49 with one disagreement in the routing
    recommendation); n agreeing audits only bound the disagreement rate near 2/n. Where
    the audits disagree often enough their own variance is larger, and used."""
    p = (z * z / 2) / (n + z * z)
    return p * (1 - p)


class Bucket(BaseModel):
    """The judged items of one time bucket (e.g. one day) of a window."""

    model_config = _FROZEN

    start: datetime
    """Start of the bucket."""
    k: int = Field(ge=0)
    """Compliant items in the bucket."""
    n: int = Field(ge=0)
    """Decided, applicable items in the bucket (0: no data that bucket)."""


class TrendPoint(BaseModel):
    """One bucket of a trend."""

    model_config = _FROZEN

    start: datetime
    """Start of the bucket."""
    rate: Rate | None
    """The bucket's rate; None when it holds no item."""


class Change(BaseModel):
    """Last half of a window minus its first half, with Newcombe's hybrid score interval."""

    model_config = _FROZEN

    first: Rate
    """Pooled rate of the first half of the buckets."""
    last: Rate
    """Pooled rate of the last half of the buckets."""
    value: float = Field(ge=-1.0, le=1.0)
    """last.value - first.value."""
    low: float = Field(ge=-1.0, le=1.0)
    """Lower limit of the interval for the difference."""
    high: float = Field(ge=-1.0, le=1.0)
    """Upper limit."""
    level: float = Field(gt=0.0, lt=1.0)
    """Nominal two-sided coverage of [low, high]."""


class Trend(BaseModel):
    """Per-bucket rates of a window and the change from its first half to its last."""

    model_config = _FROZEN

    points: tuple[TrendPoint, ...]
    """The buckets in time order."""
    change: Change | None
    """None with fewer than two buckets or an empty half."""
    direction: Literal["up", "down", "flat", "unknown"]
    """up / down when the interval of the change excludes 0, flat when it covers 0,
    unknown when there is no change to test."""


def rate_difference(later: Rate, earlier: Rate) -> Change:
    """later - earlier with Newcombe's (1998b) method 10 interval, at the rates' level.

    The hybrid score interval combines the two Wilson intervals:
    [d - sqrt((p2 - l2)^2 + (u1 - p1)^2), d + sqrt((u2 - p2)^2 + (p1 - l1)^2)] for
    d = p2 - p1 (2 = later, 1 = earlier).
    """
    if later.level != earlier.level:
        raise ValueError(f"rates at different levels: {later.level} and {earlier.level}")
    d = later.value - earlier.value
    low = d - math.hypot(later.value - later.low, earlier.high - earlier.value)
    high = d + math.hypot(later.high - later.value, earlier.value - earlier.low)
    return Change(
        first=earlier,
        last=later,
        value=d,
        low=max(low, -1.0),
        high=min(high, 1.0),
        level=later.level,
    )


def trend(buckets: Sequence[Bucket], level: float = 0.95) -> Trend:
    """Rates per bucket and the change from the first half of the buckets to the last.

    Buckets must be in time order. With B buckets, the first half is the first B // 2 and
    the last half the last B // 2 (the middle one of an odd count is in neither); each
    half's items are pooled into one rate, and the change is their difference with
    Newcombe's hybrid score interval (`rate_difference`). Comparing halves rather than
    fitting a slope keeps the figure readable ("the last 3 days vs the first 3") and
    valid whatever the shape of the change.
    """
    _z(level)
    starts = [b.start for b in buckets]
    if any(b >= a for a, b in zip(starts[1:], starts, strict=False)):
        raise ValueError("buckets must be in strictly increasing time order")
    for b in buckets:
        if b.k > b.n:
            raise ValueError(f"bucket {b.start.isoformat()}: k={b.k} exceeds n={b.n}")
    points = tuple(
        TrendPoint(start=b.start, rate=binomial_rate(b.k, b.n, level) if b.n else None)
        for b in buckets
    )
    half = len(buckets) // 2
    first = buckets[:half]
    last = buckets[len(buckets) - half :]
    n1, n2 = sum(b.n for b in first), sum(b.n for b in last)
    if half == 0 or n1 == 0 or n2 == 0:
        return Trend(points=points, change=None, direction="unknown")
    change = rate_difference(
        binomial_rate(sum(b.k for b in last), n2, level),
        binomial_rate(sum(b.k for b in first), n1, level),
    )
    direction: Literal["up", "down", "flat"] = (
        "up" if change.low > 0 else "down" if change.high < 0 else "flat"
    )
    return Trend(points=points, change=change, direction=direction)
