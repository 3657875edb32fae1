"""What the backtest measured: one `Row` per judge or panel configuration, and one
`DatasetResult` per dataset (the objects the report prints and writes as JSON)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from backtest.jury import FoldFit
from backtest.routing_curve import RoutingAnalysis
from routing import AgreementEstimate, PairwiseKappa, Weighting
from routing.bias import PositionBias
from routing.jury import JuryPriors, Selection
from routing.reliability import ReliabilityWeights
from rubrics import Mode, ScaleValue

__all__ = ["DatasetResult", "JuryRun", "Kind", "Row"]

Kind = Literal["judge", "panel", "strategy", "jury"]
"""A single judge, a panel asking all judges, a majority panel asking in waves, or the
jury model (`backtest.jury`: parallel, production labels, cascade)."""


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
    default: bool = False
    """The default configuration (the jury with `--labels` cross-fitted labels)."""


class ConfidenceReliability(BaseModel):
    """Whether the default row's confidence is a probability: on the items with a human
    reference, its mean against the share right and the expected calibration error
    (10 bins), tempered (as the service reports it) and untempered (temperature 1)."""

    model_config = ConfigDict(frozen=True)

    n_items: int
    accuracy: float
    mean_confidence: float
    ece: float
    plain_accuracy: float
    plain_mean_confidence: float
    plain_ece: float


class JuryRun(BaseModel):
    """How the jury rows were produced (`backtest.jury`)."""

    model_config = ConfigDict(frozen=True)

    labels: int
    """The cap on human labels per fold's model (`--labels`)."""
    audit_rate: float
    routing_floor: float
    """Production case: confidence below which the unsupervised jury routes to humans."""
    priors: JuryPriors
    select: Selection = "scale"
    """Where each fold chose its error model on held-out label likelihood
    (`routing.jury.selects`: "scale", the service's policy, "all" or "none"; the chosen
    one and every candidate's score are in `folds`)."""
    classes: tuple[ScaleValue, ...]
    """The latent classes (pairwise `tie` only where humans say tie)."""
    folds: tuple[FoldFit, ...]
    """The default row's models."""
    production: tuple[FoldFit, ...]
    """The production row's models (with routed and audited counts)."""
    cascade_alpha: float
    cascade_threshold: float | None
    """The threshold calibrated at `cascade_alpha` on the first split's calibration half
    of the default row's confidences; None when nothing was certified (the calibrated
    cascade is then the exact one)."""
    held_out_items: int
    """Items of that split's held-out half, where the calibrated cascade is also scored."""
    held_out_parallel_accuracy: float | None
    held_out_cascade_accuracy: float | None
    dependence_cv: dict[str, float] | None = None
    """Held-out log P(human label | votes) per label by `JuryPriors.dependence` setting,
    5-fold CV within the training labels of fold 0 (`backtest.jury_cv`); None without."""
    reliability: ConfidenceReliability | None = None
    """The default row's confidence against its accuracy; None without a referenced item."""


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
    weights_dawid_skene_converged: bool | None = None
    """Whether every Dawid-Skene fit behind a cross-fitted weight converged (None: no
    weight came from Dawid-Skene; `ReliabilityWeights.dawid_skene_converged`)."""
    folds: int
    seed: int
    min_human: int
    routing: tuple[RoutingAnalysis, ...] = ()
    """Routing curve and calibrated threshold of the default panels (majority; median too
    on numeric ordinal scales), over the items with a human reference."""
    jury: JuryRun | None = None
    """How the jury rows were produced; None for a dataset without votes."""
    quorum: int | None = None
    """Quorum of the sequential and cascade rows (the service default for a panel of all
    the judges: a strict majority), also their default wave size."""
