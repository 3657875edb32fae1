"""Panel agreement over a window of evaluations: the figures behind `/agreement`.

Input is a code matrix (items in rows, judges in columns, scale index or NaN for no
usable vote; see `routing.stat_result`), optionally a vector of human verdict codes (NaN
where no human decided), and per-judge call counts. Unscored and failed calls are
missing, never disagreement.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from routing.kappa import Weighting, cohen_kappa, cohen_kappa_matrix, fleiss_kappa
from routing.krippendorff import Level, krippendorff_alpha
from routing.stat_result import AgreementEstimate
from rubrics import Rubric

MIN_PAIRED = 10
"""Fewer shared items than this and a kappa is not reported (too noisy to act on)."""


class JudgeCalls(BaseModel):
    """How a judge's calls ended over the window."""

    model_config = ConfigDict(frozen=True)

    calls: int = 0
    ok: int = 0
    unscored: int = 0
    errors: int = 0

    @property
    def unscored_rate(self) -> float | None:
        return self.unscored / self.calls if self.calls else None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.calls if self.calls else None


class PanelAgreement(BaseModel):
    """Window agreement statistics for one panel."""

    model_config = ConfigDict(frozen=True)

    judges: tuple[str, ...]
    n_items: int
    fleiss_kappa: AgreementEstimate | None
    """Over items every judge voted on; None when too few."""
    krippendorff_alpha: AgreementEstimate | None
    """Over all items, tolerating missing votes."""
    cohen_kappa: dict[str, dict[str, float | None]]
    """Judge-by-judge Cohen's kappa over the items both voted on (None: too few shared)."""
    human_kappa: dict[str, AgreementEstimate | None]
    """Each judge's kappa against human verdicts (None until enough human verdicts)."""
    n_human: int
    weighting: Weighting


def weighting_for(rubric: Rubric) -> Weighting:
    """Quadratic weights for ordinal scales with more than two values, none otherwise. A
    scale with a not-applicable value is nominal: n/a is a category of its own, equally
    far from every other (a distance to it has no meaning)."""
    if rubric.not_applicable is not None:
        return "none"
    return "quadratic" if rubric.ordinal and len(rubric.scale) > 2 else "none"


def level_for(rubric: Rubric) -> Level:
    if rubric.not_applicable is not None:
        return "nominal"  # n/a is a category, not a point on the scale
    if rubric.numeric:
        return "interval"
    return "ordinal" if rubric.ordinal and len(rubric.scale) > 2 else "nominal"


def _enough(codes: NDArray[np.float64]) -> bool:
    return bool(codes.shape[0] >= 2 and np.isfinite(codes).sum() >= 2)


def panel_agreement(
    rubric: Rubric,
    judges: Sequence[str],
    codes: NDArray[np.float64],
    human: NDArray[np.float64] | None = None,
    *,
    n_boot: int | None = None,
    seed: int = 0,
) -> PanelAgreement:
    """Compute the window statistics. `codes` has one column per name in `judges`."""
    codes = np.asarray(codes, dtype=float)
    if n_boot is None:  # intervals on huge windows are narrow anyway: spend less on them
        n_boot = 200 if codes.shape[0] <= 20_000 else 50
    if codes.ndim != 2 or codes.shape[1] != len(judges):
        raise ValueError(f"codes must be items x {len(judges)} judges, got shape {codes.shape}")
    k = len(rubric.scale)
    weighting = weighting_for(rubric)
    fleiss = alpha = None
    complete = codes[np.isfinite(codes).all(axis=1)] if codes.size else codes
    if len(judges) >= 2 and complete.shape[0] >= MIN_PAIRED:
        fleiss = fleiss_kappa(complete, n_categories=k, n_boot=n_boot, seed=seed)
    usable = codes[np.isfinite(codes).sum(axis=1) >= 2] if codes.size else codes
    if len(judges) >= 2 and usable.shape[0] >= MIN_PAIRED:
        alpha = krippendorff_alpha(usable, level=level_for(rubric), n_boot=n_boot, seed=seed)

    matrix: dict[str, dict[str, float | None]] = {a: {} for a in judges}
    if len(judges) >= 2 and codes.shape[0] >= 1:
        pairs = (
            cohen_kappa_matrix(codes, weights=weighting, n_categories=k) if _enough(codes) else None
        )
        for i, a in enumerate(judges):
            for j, b in enumerate(judges):
                if i == j:
                    matrix[a][b] = 1.0
                    continue
                shared = int((np.isfinite(codes[:, i]) & np.isfinite(codes[:, j])).sum())
                est = pairs.estimates[i][j] if pairs is not None else None
                matrix[a][b] = est.value if est is not None and shared >= MIN_PAIRED else None

    human_kappa: dict[str, AgreementEstimate | None] = {}
    n_human = 0
    if human is not None:
        human = np.asarray(human, dtype=float)
        n_human = int(np.isfinite(human).sum())
        for i, name in enumerate(judges):
            both = np.isfinite(human) & np.isfinite(codes[:, i])
            human_kappa[name] = (
                cohen_kappa(codes[both, i], human[both], weights=weighting, n_categories=k)
                if both.sum() >= MIN_PAIRED
                else None
            )
    return PanelAgreement(
        judges=tuple(judges),
        n_items=int(codes.shape[0]),
        fleiss_kappa=fleiss,
        krippendorff_alpha=alpha,
        cohen_kappa=matrix,
        human_kappa=human_kappa,
        n_human=n_human,
        weighting=weighting,
    )
