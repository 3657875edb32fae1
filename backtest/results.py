"""What the backtest measured: one `Row` per judge or panel configuration, and one
`DatasetResult` per dataset (the objects the report prints and writes as JSON)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from backtest.routing_curve import RoutingAnalysis
from routing import AgreementEstimate, PairwiseKappa, Weighting
from routing.bias import PositionBias
from routing.reliability import ReliabilityWeights
from rubrics import Mode, ScaleValue

__all__ = ["DatasetResult", "Kind", "Row"]

Kind = Literal["judge", "panel", "strategy"]
"""A single judge, a panel asking all judges, or a majority panel asking in waves."""


class Row(BaseModel):
    """One judge or panel configuration scored against the human reference."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: Kind
    n_items: int
    coverage: float
    """Share of items with a verdict (pairwise: a verdict other than tie)."""
    accuracy: float | None
    """Share of referenced items whose verdict equals the reference; None without any."""
    kappa: AgreementEstimate | None
    """Cohen's kappa vs the human reference over items with both, with its 95% CI."""
    calls_per_item: float
    """Judge calls (recorded votes, usable or not) this configuration spends per item."""


class DatasetResult(BaseModel):
    """Everything the backtest measured on one dataset."""

    model_config = ConfigDict(frozen=True)

    dataset: str
    path: str
    mode: Mode
    scale: tuple[ScaleValue, ...]
    label_kind: str | None
    judges: tuple[str, ...]
    n_items: int
    n_referenced: int
    """Items with a human reference label (scored for accuracy and kappa)."""
    n_human_ties: int
    """Items whose human labels tie on a nominal scale (no reference; not scored)."""
    n_unlabelled: int
    forced_choice: bool
    """Pairwise with no human reference of "tie": a tie verdict can only be wrong."""
    kappa_weights: Weighting
    rows: tuple[Row, ...]
    fleiss_kappa: AgreementEstimate | None = None
    """Over items where every judge has a usable (reconciled) verdict."""
    krippendorff_alpha: AgreementEstimate | None = None
    """Over all items, missing verdicts as missing."""
    judge_kappa: PairwiseKappa | None = None
    """Cohen's kappa between every two judges' reconciled verdicts."""
    position: tuple[PositionBias, ...]
    weights: ReliabilityWeights | None
    """Reliability weights fitted on every human label (for information; the weighted
    panel uses the cross-fitted ones)."""
    weight_sources: dict[str, dict[str, int]]
    """Judge -> how many of the cross-fitting folds took its weight from each source."""
    dawid_skene_iterations: int | None
    dawid_skene_converged: bool | None
    folds: int
    seed: int
    min_human: int
    routing: tuple[RoutingAnalysis, ...] = ()
    """Routing curve and calibrated threshold of the default panels (majority; median too
    on numeric ordinal scales), over the items with a human reference."""
    quorum: int | None = None
    """Quorum of the sequential and cascade rows (the service default for a panel of all
    the judges: a strict majority), also their default wave size."""
