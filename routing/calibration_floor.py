"""How many reviewed items a calibration needs: the floor where the fixed-sequence walk
of `routing.calibration` starts testing thresholds, and how many more agreeing reviews an
uncertified calibration needs. The module docstring of `routing.calibration` says why the
default floor is `min_robust_items`."""

from __future__ import annotations

import math

from scipy.stats import binom

__all__ = [
    "check_unit",
    "min_certifiable_items",
    "min_robust_items",
    "reviews_to_certify",
    "testing_floor",
]


def check_unit(name: str, value: float) -> None:
    """Raise ValueError unless 0 < value < 1 (NaN fails)."""
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1; got {value}")


def min_certifiable_items(alpha: float, delta: float) -> int:
    """The fewest items above a threshold that can certify it: the smallest n with
    (1 - alpha)^n <= delta, the p-value of zero disagreements among n items."""
    check_unit("alpha", alpha)
    check_unit("delta", delta)
    n = max(1, math.ceil(math.log(delta) / math.log1p(-alpha)))
    # Settle the rounding of the logarithms with the same function that computes p-values.
    while binom.cdf(0, n, alpha) > delta:
        n += 1
    while n > 1 and binom.cdf(0, n - 1, alpha) <= delta:
        n -= 1
    return n


def min_robust_items(alpha: float, delta: float) -> int:
    """The fewest items above a threshold at which one disagreement can still certify it:
    the smallest n with P(Bin(n, alpha) <= 1) <= delta. The default start of the walk
    (see the module docstring)."""
    return _fewest_passing(1, alpha, delta, min_certifiable_items(alpha, delta))


def _fewest_passing(disagreements: int, alpha: float, delta: float, at_least: int) -> int:
    """The smallest n >= `at_least` with P(Bin(n, alpha) <= disagreements) <= delta. The
    p-value falls as n grows with the disagreements fixed: double, then bisect."""
    if binom.cdf(disagreements, at_least, alpha) <= delta:
        return at_least
    lo, hi = at_least, at_least * 2  # fails at lo
    while binom.cdf(disagreements, hi, alpha) > delta:
        lo, hi = hi, hi * 2
    while hi - lo > 1:  # fails at lo, passes at hi
        mid = (lo + hi) // 2
        if binom.cdf(disagreements, mid, alpha) <= delta:
            hi = mid
        else:
            lo = mid
    return hi


def testing_floor(alpha: float, delta: float, min_items: int | None = None) -> int:
    """The fewest items above a candidate threshold before the walk tests it:
    `min_robust_items(alpha, delta)` by default, max(min_items, `min_certifiable_items`)
    when `min_items` is given. Raises ValueError on a bad `min_items`."""
    if min_items is None:
        return min_robust_items(alpha, delta)
    if isinstance(min_items, bool) or not isinstance(min_items, int) or min_items < 1:
        raise ValueError(f"min_items must be None or an integer >= 1; got {min_items!r}")
    return max(min_items, min_certifiable_items(alpha, delta))


def reviews_to_certify(
    n_items: int,
    disagreements: int,
    *,
    alpha: float,
    delta: float,
    min_items: int | None = None,
) -> int:
    """How many more human reviews, all agreeing with the panel, the lowest threshold
    (every item above it) needs before it can be certified: the smallest m with at least
    `testing_floor(alpha, delta, min_items)` items and
    P(Bin(n_items + m, alpha) <= disagreements) <= delta. A lower bound for `calibrate`
    (the walk from the top may stop earlier); 0 when that threshold passes already."""
    check_unit("alpha", alpha)
    check_unit("delta", delta)
    if n_items < 0 or not 0 <= disagreements <= n_items:
        raise ValueError(
            f"need n_items >= 0 and 0 <= disagreements <= n_items; got {n_items}, {disagreements}"
        )
    floor = max(n_items, testing_floor(alpha, delta, min_items))
    return _fewest_passing(disagreements, alpha, delta, floor) - n_items
