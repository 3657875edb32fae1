"""Routing on recorded data: the confidence routing curve and the calibrated threshold.

For one panel aggregation of one dataset, each item with a human reference contributes
the panel's confidence from `routing.conclude` (the number the service routes on) and
whether the panel's verdict equals the reference. From these:

- the routing curve: for a grid of thresholds, the share of items sent to humans
  (confidence below the threshold) against the agreement with humans of the items
  decided automatically (confidence at or above it);
- the calibrated threshold (`routing.calibration_check.apply_split`, the "Trust or Escalate"
  fixed-sequence test): calibrated on a random half, checked on the other half, for each
  alpha, and repeated over several random splits.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict

from routing.calibration import Calibration, min_certifiable_items
from routing.calibration_check import SplitBacktest, apply_split

__all__ = [
    "DEFAULT_ALPHAS",
    "DEFAULT_DELTA",
    "DEFAULT_SPLITS",
    "AlphaCheck",
    "RoutingAnalysis",
    "RoutingPoint",
    "RoutingSettings",
    "SplitRepeats",
    "analyse_routing",
    "routing_curve",
]

DEFAULT_ALPHAS = (0.05, 0.1, 0.2)
DEFAULT_DELTA = 0.1
DEFAULT_SPLITS = 20
CALIBRATION_FRACTION = 0.5
CURVE_POINTS = 20
"""The curve uses the distinct confidences, or this many of their quantiles if more."""


class RoutingSettings(BaseModel):
    """How the threshold is calibrated: the target rates and the random splits."""

    model_config = ConfigDict(frozen=True)

    alphas: tuple[float, ...] = DEFAULT_ALPHAS
    """Target disagreement rates among auto-decided items."""
    delta: float = DEFAULT_DELTA
    """Allowed probability that the guarantee fails."""
    splits: int = DEFAULT_SPLITS
    """Random calibration/held-out splits (seeds seed, seed + 1, ...); the first is shown."""


class RoutingPoint(BaseModel):
    """One threshold on the routing curve."""

    model_config = ConfigDict(frozen=True)

    threshold: float
    """Items with confidence >= threshold are decided automatically, the rest go to humans."""
    to_humans: float
    """Share of the items with confidence below the threshold."""
    n_auto: int
    """Items with confidence >= threshold."""
    auto_agreement: float
    """Share of those whose panel verdict equals the human reference."""


class SplitRepeats(BaseModel):
    """The same calibration over `n_splits` random splits (seeds seed, seed + 1, ...)."""

    model_config = ConfigDict(frozen=True)

    n_splits: int
    first_seed: int
    n_certified: int
    """Splits in which some threshold was certified on the calibration half."""
    n_exceeded: int
    """Splits whose held-out risk (disagreement rate above the threshold) exceeded alpha."""
    exceeded_share: float
    """n_exceeded / n_splits: to be read against delta (see `AlphaCheck`)."""
    mean_held_out_coverage: float
    """Mean share of held-out items auto-decided (0 in a split that certified nothing)."""
    min_held_out_coverage: float
    max_held_out_coverage: float
    mean_held_out_risk: float | None
    """Mean held-out risk over the splits that auto-decided some held-out item."""


class AlphaCheck(BaseModel):
    """One target alpha: the threshold calibrated on one random half, checked on the other.

    The guarantee is about the true disagreement rate of future items above the threshold:
    <= alpha with probability >= 1 - delta over the draw of the calibration half. The
    held-out half is itself a finite sample, so its rate can exceed alpha by sampling noise
    even when the true rate does not; across repeated splits, expect an exceedance share of
    up to about delta (plus that noise), not zero.
    """

    model_config = ConfigDict(frozen=True)

    alpha: float
    delta: float
    seed: int
    split: SplitBacktest
    """`apply_split`'s result; the calibration's candidate-by-candidate curve is omitted
    (the routing curve shows the same trade-off on all items)."""
    not_certified_because: str | None
    """Why nothing was certified on the calibration half; None when certified."""
    repeats: SplitRepeats | None
    """The same over several seeds; None when only one split was asked for."""


class RoutingAnalysis(BaseModel):
    """The routing curve and calibrated thresholds of one panel aggregation."""

    model_config = ConfigDict(frozen=True)

    aggregation: str
    n_items: int
    """Items with a human reference (the others are excluded)."""
    agreement: float
    """Share of them whose verdict equals the reference (everything auto-decided)."""
    n_distinct_confidences: int
    curve: tuple[RoutingPoint, ...]
    """Ascending threshold, so ascending share to humans."""
    calibration: tuple[AlphaCheck, ...]
    calibration_skipped: str | None = None
    """Why no calibration was run (fewer than two items); None otherwise."""
    default: bool = False
    """The default configuration's confidence (the jury's posterior)."""


def routing_curve(
    confidence: ArrayLike, agree: ArrayLike, max_points: int = CURVE_POINTS
) -> tuple[RoutingPoint, ...]:
    """Share to humans vs auto-decision agreement at the distinct confidences (or at
    `max_points` of their quantiles, observed values), ascending."""
    conf = np.asarray(confidence, dtype=np.float64)
    agr = np.asarray(agree, dtype=bool)
    if conf.size == 0:
        return ()
    grid = np.unique(conf)
    if grid.size > max_points:
        probs = np.linspace(0.0, 1.0, max_points)
        grid = np.unique(np.quantile(conf, probs, method="inverted_cdf"))
    points = []
    for t in grid:
        above = conf >= t
        n_auto = int(above.sum())
        points.append(
            RoutingPoint(
                threshold=float(t),
                to_humans=1.0 - n_auto / conf.size,
                n_auto=n_auto,
                auto_agreement=float(agr[above].mean()),
            )
        )
    return tuple(points)


def analyse_routing(
    aggregation: str,
    confidence: ArrayLike,
    agree: ArrayLike,
    settings: RoutingSettings | None = None,
    seed: int = 0,
) -> RoutingAnalysis:
    """The routing curve and, per alpha, `apply_split` on `seed` (and on `splits` seeds
    from it when splits > 1). Inputs: one confidence and one 0/1 agreement per item."""
    opt = settings or RoutingSettings()
    conf = np.asarray(confidence, dtype=np.float64)
    agr = np.asarray(agree, dtype=bool)
    n = int(conf.size)
    checks: list[AlphaCheck] = []
    skipped = None
    if n < 2:
        skipped = f"{n} item(s) with a human reference: too few to split"
    else:
        checks = [_check(conf, agr, a, opt.delta, seed, opt.splits) for a in opt.alphas]
    return RoutingAnalysis(
        aggregation=aggregation,
        n_items=n,
        agreement=float(agr.mean()) if n else math.nan,
        n_distinct_confidences=int(np.unique(conf).size),
        curve=routing_curve(conf, agr),
        calibration=tuple(checks),
        calibration_skipped=skipped,
    )


def _split(conf: ArrayLike, agr: ArrayLike, alpha: float, delta: float, seed: int) -> SplitBacktest:
    return apply_split(
        conf, agr, alpha=alpha, delta=delta, calibration_fraction=CALIBRATION_FRACTION, seed=seed
    )


def _check(
    conf: ArrayLike, agr: ArrayLike, alpha: float, delta: float, seed: int, splits: int
) -> AlphaCheck:
    split = _split(conf, agr, alpha, delta, seed)
    repeats = None
    if splits > 1:
        runs = [split] + [_split(conf, agr, alpha, delta, seed + s) for s in range(1, splits)]
        held = [r.held_out for r in runs]
        exceeded = sum(not r.within_alpha for r in runs)
        risks = [h.risk for h in held if h.n_above]
        repeats = SplitRepeats(
            n_splits=splits,
            first_seed=seed,
            n_certified=sum(r.calibration.certified for r in runs),
            n_exceeded=exceeded,
            exceeded_share=exceeded / splits,
            mean_held_out_coverage=float(np.mean([h.coverage for h in held])),
            min_held_out_coverage=min(h.coverage for h in held),
            max_held_out_coverage=max(h.coverage for h in held),
            mean_held_out_risk=float(np.mean(risks)) if risks else None,
        )
    cal = split.calibration
    slim = split.model_copy(update={"calibration": cal.model_copy(update={"curve": ()})})
    return AlphaCheck(
        alpha=alpha,
        delta=delta,
        seed=seed,
        split=slim,
        not_certified_because=None if cal.certified else _why_not(cal),
        repeats=repeats,
    )


def _why_not(cal: Calibration) -> str:
    """Why the fixed-sequence walk certified nothing."""
    need = cal.min_testable
    if cal.n_items < need:
        floor = min_certifiable_items(cal.alpha, cal.delta)
        return (
            f"{cal.n_items} calibration items; a threshold is tested only with >= {need} "
            f"items above it (>= {floor} to certify even with no disagreement)"
        )
    tested = [p for p in cal.curve if p.tested]
    if not tested:
        return f"no threshold has >= {need} calibration items above it"
    first = tested[0]
    higher = len(cal.curve) - len(tested)
    untested = (
        f" (the {higher} higher threshold{'s' if higher > 1 else ''} had fewer than {need} "
        "items above, too few to test)"
        if higher
        else ""
    )
    return (
        f"the highest testable threshold {first.threshold:.3f} failed: {first.disagreements} "
        f"of {first.n_above} items above it disagree (p = {first.p_value:.3g} > "
        f"delta {cal.delta:g}){untested}"
    )
