"""The jury rows of one dataset, their routing analysis and how they were produced.

`run_jury` adds, through `score`: the default row (the jury with at most `labels`
cross-fitted random labels per fold), the posterior mode on ordinal scales of more than
two values (whose default verdict is the posterior median), the production case (labels
only from routed and audited items), and two jury cascades (the exact stop rule; and a
confidence stop at the threshold calibrated on the first split's calibration half at
`CASCADE_ALPHA`). The routing curve and the calibrated threshold are computed on the
default row's posterior confidence.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from backtest import jury
from backtest.datasets import Dataset
from backtest.jury_cv import dependence_cv
from backtest.results import ConfidenceReliability, JuryRun, Kind
from backtest.routing_curve import (
    CALIBRATION_FRACTION,
    RoutingAnalysis,
    RoutingSettings,
    analyse_routing,
)
from judges import Vote
from routing.calibration_check import apply_split, expected_calibration_error
from routing.jury import JuryPriors, Selection
from rubrics import ScaleValue

__all__ = ["CASCADE_ALPHA", "Score", "run_jury"]

CASCADE_ALPHA = 0.1
"""The alpha of the calibrated cascade threshold: `quorum calibrate`'s default."""

Verdicts = list[ScaleValue | None]
Score = Callable[[str, Kind, Verdicts, float, bool], None]
"""`score(name, kind, verdicts, calls per item, default)` adds a row."""


def _threshold(t: float) -> str:
    """A confidence threshold as text: 1 - 4.5e-07 rather than a rounded 1.000."""
    return f"{t:.3f}" if t <= 0.999 else f"1 - {1 - t:.1e}"


def _calls(votes: Sequence[Sequence[Vote]]) -> float:
    return sum(len(v) for v in votes) / len(votes) if votes else 0.0


def run_jury(
    dataset: Dataset,
    fold_of: NDArray[np.int64],
    ref_codes: NDArray[np.float64],
    codes: Callable[[Verdicts], NDArray[np.float64]],
    score: Score,
    *,
    settings: RoutingSettings,
    seed: int,
    labels: int,
    audit_rate: float,
    priors: JuryPriors,
    with_cv: bool = True,
    select: Selection = "scale",
) -> tuple[RoutingAnalysis, JuryRun]:
    """Add the jury rows through `score`; the default row's routing analysis and the run."""
    every = [list(it.votes) for it in dataset.items]
    parallel = _calls(every)
    name = f"jury (<= {labels} labels)" if labels else "jury (no labels)"
    cf = jury.cross_fit(
        dataset,
        fold_of,
        lambda f: jury.random_labels(dataset, fold_of, f, labels, seed),
        priors,
        select=select,
    )
    score(name, "jury", cf.verdicts, parallel, True)
    rubric = dataset.rubric
    if rubric.ordinal and len(rubric.scale) > 2:
        score(f"{name}: posterior mode", "jury", cf.modes, parallel, False)
    pick, counts = jury.production_labels(dataset, fold_of, labels, audit_rate, seed, priors)
    prod = jury.cross_fit(dataset, fold_of, pick, priors, counts, select=select)
    score(
        f"jury, production labels (routed + {audit_rate:g} audit, <= {labels})",
        "jury",
        prod.verdicts,
        parallel,
        False,
    )

    referenced = ~np.isnan(ref_codes)
    agree = codes(cf.verdicts) == ref_codes
    conf, agr = cf.confidence[referenced], agree[referenced]
    analysis = analyse_routing("jury", conf, agr, settings, seed).model_copy(
        update={"default": True}
    )
    threshold, held = math.inf, np.zeros(0, dtype=np.int64)
    if conf.size >= 2:
        split = apply_split(
            conf,
            agr,
            alpha=CASCADE_ALPHA,
            delta=settings.delta,
            calibration_fraction=CALIBRATION_FRACTION,
            seed=seed,
        )
        threshold = split.calibration.threshold
        # apply_split's own permutation: the same seed gives the same halves.
        perm = np.random.default_rng(seed).permutation(conf.size)
        held = np.flatnonzero(referenced)[perm[round(CALIBRATION_FRACTION * conf.size) :]]

    exact = jury.cascade(dataset, fold_of, cf.models, math.inf)
    exact_v = jury.verdicts_of(dataset, fold_of, cf.models, exact)
    score("jury cascade: exact stop", "jury", exact_v, _calls(exact), False)
    if math.isfinite(threshold):
        stopped = jury.cascade(dataset, fold_of, cf.models, threshold)
        stopped_v = jury.verdicts_of(dataset, fold_of, cf.models, stopped)
        label = f"jury cascade: stop at calibrated {_threshold(threshold)} or exact"
    else:
        stopped, stopped_v = exact, exact_v
        label = f"jury cascade: nothing certified at alpha {CASCADE_ALPHA:g}, exact stop"
    score(label, "jury", stopped_v, _calls(stopped), False)

    reliability = None
    if referenced.any():
        plain_agr = (codes(cf.plain_verdicts) == ref_codes)[referenced]
        plain_conf = cf.plain_confidence[referenced]
        reliability = ConfidenceReliability(
            n_items=int(referenced.sum()),
            accuracy=float(agr.mean()),
            mean_confidence=float(conf.mean()),
            ece=expected_calibration_error(conf, agr),
            plain_accuracy=float(plain_agr.mean()),
            plain_mean_confidence=float(plain_conf.mean()),
            plain_ece=expected_calibration_error(plain_conf, plain_agr),
        )

    def held_accuracy(verdicts: Verdicts) -> float | None:
        return float((codes(verdicts)[held] == ref_codes[held]).mean()) if held.size else None

    run = JuryRun(
        labels=labels,
        audit_rate=audit_rate,
        routing_floor=jury.ROUTING_FLOOR,
        priors=priors,
        select=select,
        classes=tuple(rubric.scale[c] for c in jury.classes_for(dataset)),
        folds=tuple(cf.fits),
        production=tuple(prod.fits),
        cascade_alpha=CASCADE_ALPHA,
        cascade_threshold=threshold if math.isfinite(threshold) else None,
        held_out_items=int(held.size),
        held_out_parallel_accuracy=held_accuracy(cf.verdicts),
        held_out_cascade_accuracy=held_accuracy(stopped_v),
        reliability=reliability,
        dependence_cv=(
            dependence_cv(dataset, fold_of, labels, seed, priors) if with_cv and labels else None
        ),
    )
    return analysis, run
