"""Checking a calibrated threshold: what a threshold does on human-reviewed items, and a
threshold calibrated on one random part of them checked on the rest (the backtest's
held-out check of the fixed-sequence guarantee in `routing.calibration`)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict, Field

from routing.calibration import Calibration, _check_items, calibrate, risk_upper_bound
from routing.calibration_floor import check_unit

__all__ = [
    "SplitBacktest",
    "ThresholdRisk",
    "apply_split",
    "evaluate_threshold",
    "expected_calibration_error",
]


def expected_calibration_error(
    confidence: ArrayLike, correct: ArrayLike, n_bins: int = 10
) -> float:
    """The expected calibration error (Naeini et al. 2015; Guo et al. 2017): items binned
    by confidence into `n_bins` equal-width bins of [0, 1] (the last one closed), and the
    item-weighted mean over bins of |share correct - mean confidence|. 0 for a perfectly
    calibrated confidence; NaN without items."""
    conf = np.asarray(confidence, dtype=np.float64)
    right = np.asarray(correct, dtype=np.float64)
    if conf.shape != right.shape or conf.ndim != 1:
        raise ValueError(
            f"confidence and correct must be 1-d alike; got {conf.shape}, {right.shape}"
        )
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1; got {n_bins}")
    if conf.size == 0:
        return math.nan
    if np.any((conf < 0) | (conf > 1)):
        raise ValueError("confidence must lie in [0, 1]")
    which = np.minimum((conf * n_bins).astype(np.int64), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        inside = which == b
        if inside.any():
            total += inside.sum() * abs(right[inside].mean() - conf[inside].mean())
    return float(total / conf.size)


class ThresholdRisk(BaseModel):
    """What a given threshold does on a set of human-reviewed items."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    threshold: float
    """The confidence threshold evaluated (may be +inf)."""
    n_items: int = Field(ge=1)
    """Items evaluated."""
    n_above: int = Field(ge=0)
    """Items with confidence >= threshold (auto-decided)."""
    disagreements: int = Field(ge=0)
    """Disagreements with the human among those items."""
    coverage: float = Field(ge=0.0, le=1.0)
    """n_above / n_items."""
    risk: float
    """disagreements / n_above; NaN when no item is above."""
    risk_upper: float = Field(ge=0.0, le=1.0)
    """One-sided Clopper-Pearson upper bound on the risk at level 1 - delta."""


class SplitBacktest(BaseModel):
    """A threshold calibrated on one random part of the items and checked on the rest."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    calibration: Calibration
    """The calibration on the calibration part (its alpha is the guaranteed rate)."""
    held_out: ThresholdRisk
    """The calibrated threshold applied to the held-out part (the achieved rate)."""
    within_alpha: bool
    """Whether the held-out risk is <= alpha (True when no held-out item is above the
    threshold). Expected to be True in at least 1 - delta of splits, up to the held-out
    part's own sampling noise."""


def evaluate_threshold(
    confidence: ArrayLike, agree: ArrayLike, threshold: float, *, delta: float = 0.05
) -> ThresholdRisk:
    """Coverage and disagreement rate of auto-deciding items with confidence >= threshold.

    Inputs as for `calibrate`; `threshold` may be +inf (nothing auto-decided). The upper
    bound is at level 1 - delta.
    """
    conf, agr = _check_items(confidence, agree)
    check_unit("delta", delta)
    if math.isnan(threshold):
        raise ValueError("threshold must not be NaN")
    above = conf >= threshold
    n_above = int(above.sum())
    k = int((~agr[above]).sum())
    return ThresholdRisk(
        threshold=float(threshold),
        n_items=conf.size,
        n_above=n_above,
        disagreements=k,
        coverage=n_above / conf.size,
        risk=k / n_above if n_above else math.nan,
        risk_upper=risk_upper_bound(n_above, k, delta),
    )


def apply_split(
    confidence: ArrayLike,
    agree: ArrayLike,
    *,
    alpha: float,
    delta: float = 0.05,
    calibration_fraction: float = 0.5,
    seed: int = 0,
    min_items: int | None = None,
    max_candidates: int | None = None,
) -> SplitBacktest:
    """Calibrate on a random `calibration_fraction` of the items (seeded) and evaluate the
    threshold on the rest: the guaranteed rate (alpha) against the achieved one.

    Inputs as for `calibrate`. Raises ValueError unless 0 < calibration_fraction < 1 and
    both parts get at least one item.
    """
    conf, agr = _check_items(confidence, agree)
    if not 0.0 < calibration_fraction < 1.0:
        raise ValueError(
            f"calibration_fraction must be strictly between 0 and 1; got {calibration_fraction}"
        )
    n_cal = round(calibration_fraction * conf.size)
    if not 0 < n_cal < conf.size:
        raise ValueError(f"a {calibration_fraction} split of {conf.size} items leaves a part empty")
    perm = np.random.default_rng(seed).permutation(conf.size)
    cal, rest = perm[:n_cal], perm[n_cal:]
    calibration = calibrate(
        conf[cal],
        agr[cal],
        alpha=alpha,
        delta=delta,
        min_items=min_items,
        max_candidates=max_candidates,
    )
    held_out = evaluate_threshold(conf[rest], agr[rest], calibration.threshold, delta=delta)
    return SplitBacktest(
        calibration=calibration,
        held_out=held_out,
        within_alpha=held_out.n_above == 0 or held_out.risk <= alpha,
    )
