"""How many reviewed items a calibration needs: the floor where the fixed-sequence walk
of `routing.calibration` starts testing thresholds, and how many more agreeing reviews an
uncertified calibration needs. The module docstring of `routing.calibration` says why the
default floor is `min_robust_items`.

Bounds. Certifying anything at `alpha` and `delta` takes at least log(delta) /
log(1 - alpha) items (about 2.3 / alpha at delta 0.1), and every disagreement with the
humans about 1 / alpha more. An alpha so small that this exceeds `MAX_ITEMS` (a billion
human-reviewed items: no calibration set comes near) is refused by `check_certifiable`, in
closed form, before any count is walked: at alpha 1e-20 the walk would count to 10^20,
past what the binomial functions take. Every function here that takes alpha and delta
checks them so (ValueError). Within the bound the counts stay far inside int64, and each
count is searched (doubling, then bisecting: a few dozen p-values), never walked one
item at a time.
"""

from __future__ import annotations

import math

from scipy.stats import binom

__all__ = [
    "MAX_ITEMS",
    "check_certifiable",
    "check_unit",
    "min_certifiable_items",
    "min_robust_items",
    "reviews_to_certify",
    "smallest_alpha",
    "testing_floor",
]

MAX_ITEMS = 10**9
"""The most human-reviewed items a calibration may need (see the module docstring)."""
_COUNT_LIMIT = 2**62
"""Where a walk over counts stops (int64, which the binomial functions take, ends at 2^63)."""


def check_unit(name: str, value: float) -> None:
    """Raise ValueError unless 0 < value < 1 (NaN fails)."""
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1; got {value}")


def _zero_disagreement_items(alpha: float, delta: float) -> float:
    """log(delta) / log(1 - alpha): the items with no disagreement whose p-value is delta
    (inf when alpha is too small for the division)."""
    return math.log(delta) / math.log1p(-alpha)


def smallest_alpha(delta: float) -> float:
    """The smallest alpha `check_certifiable` accepts at `delta`, rounded up to three
    significant digits (so that the value shown is accepted)."""
    check_unit("delta", delta)
    exact = max(-math.expm1(math.log(delta) / MAX_ITEMS), 1.0 / MAX_ITEMS)
    shown = float(f"{exact:.3g}")
    if shown < exact:  # rounded down: one unit of the third digit up
        shown = float(f"{shown + 10.0 ** (math.floor(math.log10(exact)) - 2):.3g}")
    return shown


def check_certifiable(alpha: float, delta: float) -> None:
    """Raise ValueError unless alpha and delta lie in (0, 1) and a threshold could be
    certified with at most `MAX_ITEMS` items: with no disagreement at all, and with alpha
    at least 1 / MAX_ITEMS (what one disagreement costs). Closed form: no walk."""
    check_unit("alpha", alpha)
    check_unit("delta", delta)
    needed = _zero_disagreement_items(alpha, delta)
    if needed > MAX_ITEMS:
        raise ValueError(
            f"alpha {alpha:g} cannot be certified at delta {delta:g}: it needs at least "
            f"{needed:.3g} human-reviewed items, more than the {MAX_ITEMS:.0e} a calibration "
            f"can use; use alpha >= {smallest_alpha(delta):g}"
        )
    if alpha < 1.0 / MAX_ITEMS:
        raise ValueError(
            f"alpha {alpha:g} is too small to calibrate: each disagreement with the humans "
            f"would take about {1 / alpha:.3g} more human-reviewed items to outweigh, more "
            f"than the {MAX_ITEMS:.0e} a calibration can use; use alpha >= "
            f"{smallest_alpha(delta):g}"
        )


def min_certifiable_items(alpha: float, delta: float) -> int:
    """The fewest items above a threshold that can certify it: the smallest n with
    (1 - alpha)^n <= delta, the p-value of zero disagreements among n items. Raises
    ValueError beyond the bounds of `check_certifiable`."""
    check_certifiable(alpha, delta)
    # Searched (double, then bisect) with the function that computes the p-values, not
    # walked from the closed form one item at a time: near a tiny delta (5e-324) the
    # p-values have too few digits for the walk to end soon.
    return _fewest_passing(0, alpha, delta, 1)


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
        if hi >= _COUNT_LIMIT:  # not within the bounds of check_certifiable and any real data
            raise ValueError(
                f"{disagreements} disagreements at alpha {alpha:g} and delta {delta:g} "
                f"need more than {_COUNT_LIMIT} items"
            )
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
    check_certifiable(alpha, delta)
    if n_items < 0 or not 0 <= disagreements <= n_items:
        raise ValueError(
            f"need n_items >= 0 and 0 <= disagreements <= n_items; got {n_items}, {disagreements}"
        )
    floor = max(n_items, testing_floor(alpha, delta, min_items))
    return _fewest_passing(disagreements, alpha, delta, floor) - n_items
