"""Krippendorff's alpha for nominal, ordinal and interval codes, with missing votes.

Implements the coincidence-matrix method of Krippendorff (2011), "Computing
Krippendorff's Alpha-Reliability" (Annenberg School, University of Pennsylvania):

    alpha = 1 - D_o / D_e,  D_o = sum_ck o_ck d_ck / n,  D_e = sum_ck n_c n_k d_ck / (n (n - 1))

where o_ck counts ordered pairs of values (c, k) given to the same item by different
raters, each item weighted 1 / (m_u - 1) for its m_u usable votes; n_c are the margins
of o and n their total. Items with fewer than two usable votes are not pairable and do
not enter; a missing vote (NaN) is never a disagreement. Input is a code matrix as in
`routing.stat_result` (items in rows, raters in columns). When every pairable value is
the same, D_e = 0 and alpha is 0/0; it is reported as 1.0 with `degenerate=True`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from routing.stat_result import (
    AgreementEstimate,
    as_code_matrix,
    bootstrap_interval,
    check_interval_args,
)

Level = Literal["nominal", "ordinal", "interval"]
"""Level of measurement: which difference function d_ck alpha uses."""

__all__ = ["Level", "krippendorff_alpha"]


def krippendorff_alpha(
    codes: ArrayLike,
    *,
    level: Level = "nominal",
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> AgreementEstimate:
    """Krippendorff's alpha of a code matrix (items in rows, raters in columns, NaN = missing).

    For "interval" the code itself is the value on the scale (so 0..k-1 are equally
    spaced); "ordinal" uses only the order of the codes and their frequencies. The
    interval is a percentile bootstrap over pairable items (`n_boot` resamples, seeded;
    n_boot=0 gives no interval), which keeps each item's votes together. Resamples whose
    pairable values are all one value (alpha 0/0) are left out of the interval.
    """
    if level not in ("nominal", "ordinal", "interval"):
        raise ValueError(f"level must be 'nominal', 'ordinal' or 'interval'; got {level!r}")
    arr = as_code_matrix(codes)
    check_interval_args(confidence, n_boot)
    present = ~np.isnan(arr)
    pairable = present.sum(axis=1) >= 2
    if not pairable.any():
        raise ValueError("no item has two or more usable votes, so no pairable values")
    arr, present = arr[pairable], present[pairable]

    values = np.unique(arr[present])
    counts = _value_counts(arr, present, values)
    per_item = _item_coincidences(counts)
    value, degenerate = _alpha(per_item.sum(axis=0), values, level)

    n_items = counts.shape[0]
    low = high = se = float("nan")
    if n_boot and degenerate:
        low = high = 1.0  # every resample is the same single value: the same convention
        se = 0.0
    elif n_boot:
        rng = np.random.default_rng(seed)
        flat = per_item.reshape(n_items, -1)
        size = values.size
        reps = np.empty(n_boot, dtype=np.float64)
        for b in range(n_boot):
            times = np.bincount(rng.integers(0, n_items, n_items), minlength=n_items)
            rep, degenerate_rep = _alpha((times @ flat).reshape(size, size), values, level)
            reps[b] = np.nan if degenerate_rep else rep  # 0/0: out of the interval
        low, high, se = bootstrap_interval(reps, confidence)
    return AgreementEstimate(
        value=value,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        std_error=se,
        n_items=n_items,
        n_raters=int(np.count_nonzero(present.any(axis=0))),
        method=f"krippendorff_alpha[{level}]",
        ci_method="bootstrap-percentile" if n_boot else "none",
        degenerate=degenerate,
    )


def _value_counts(
    arr: NDArray[np.float64], present: NDArray[np.bool_], values: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Items x values matrix: how many raters gave each observed value to each item."""
    index = np.searchsorted(values, np.where(present, arr, values[0]))
    one_hot = (index[:, :, None] == np.arange(values.size)) & present[:, :, None]
    return one_hot.sum(axis=1).astype(np.float64)


def _item_coincidences(counts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per-item coincidence matrices, shape (items, values, values).

    Item u contributes (n_uc n_uk - [c = k] n_uc) / (m_u - 1): its ordered pairs of votes
    from different raters, weighted so that each item adds m_u pairable values in total.
    """
    m = counts.sum(axis=1)
    pairs = counts[:, :, None] * counts[:, None, :]
    diag = np.arange(counts.shape[1])
    pairs[:, diag, diag] -= counts
    result: NDArray[np.float64] = pairs / (m - 1.0)[:, None, None]
    return result


def _alpha(o: NDArray[np.float64], values: NDArray[np.float64], level: Level) -> tuple[float, bool]:
    """Alpha from a coincidence matrix, and whether it was degenerate (one value only)."""
    n_c = o.sum(axis=1)
    if np.count_nonzero(n_c) <= 1:
        return 1.0, True  # every pairable value identical: D_o = D_e = 0
    n = float(n_c.sum())
    delta = _squared_difference(n_c, values, level)
    expected = (np.outer(n_c, n_c) - np.diag(n_c)) / (n - 1.0)
    return 1.0 - float((o * delta).sum()) / float((expected * delta).sum()), False


def _squared_difference(
    n_c: NDArray[np.float64], values: NDArray[np.float64], level: Level
) -> NDArray[np.float64]:
    """The metric difference d_ck between observed values (Krippendorff 2011, section C)."""
    if level == "nominal":
        return 1.0 - np.eye(values.size)
    if level == "interval":
        return (values[:, None] - values[None, :]) ** 2
    # ordinal: (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2 for c <= k, symmetric.
    cum = np.cumsum(n_c)
    idx = np.arange(values.size)
    lo = np.minimum(idx[:, None], idx[None, :])
    hi = np.maximum(idx[:, None], idx[None, :])
    between = cum[hi] - cum[lo] + n_c[lo]
    result: NDArray[np.float64] = (between - (n_c[lo] + n_c[hi]) / 2.0) ** 2
    return result
