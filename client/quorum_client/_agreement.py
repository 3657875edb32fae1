"""Agreement statistics and the jury model (answers of the Quorum REST API v1)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from quorum_client._evaluations import RubricRef, ScaleValue


class EstimatePublic(BaseModel):
    """An agreement coefficient with its 95% confidence interval."""

    value: float
    ci_low: float | None
    ci_high: float | None
    n_items: int
    method: str


class JudgeStatsPublic(BaseModel):
    judge: str
    calls: int
    unscored_rate: float | None
    error_rate: float | None
    human_kappa: EstimatePublic | None
    """Cohen's kappa against human verdicts (quadratic-weighted on ordinal scales)."""
    weight: float
    """The weight this judge carries in `weighted` aggregation."""
    weight_source: Literal["human", "dawid_skene", "prior"]
    """Where the weight came from: agreement with humans, the Dawid-Skene model, or config."""
    accuracy: float | None = None
    position_inconsistency: float | None = None
    """Pairwise: share of comparable items on which the judge flipped with the order."""
    first_position_rate: float | None = None
    """Pairwise: among flips where one position won twice, the share won by the first."""
    first_position_ci: tuple[float, float] | None = None
    """Wilson 95% interval of `first_position_rate`."""


class JuryWorkerPublic(BaseModel):
    """One judge in one presentation (pairwise order, or reversed scale) as the jury
    model reads it."""

    judge: str
    order: str | None
    reversed_scale: bool = False
    votes: float
    """Votes it was fitted on (soft votes count their share); a `labels-only` error model
    learns from the labelled items' votes alone."""
    accuracy: float
    """Probability of answering the true value, averaged over the true values."""
    accuracy_ci: tuple[float, float] | None
    """95% Wilson interval of `accuracy` over `votes` votes."""
    confusion: list[list[float]]
    """P(answer | true value): rows are the latent values (`classes`), columns the scale."""


class JuryPublic(BaseModel):
    """The jury model in force for a panel (`aggregation: jury`)."""

    version: int
    """0: the cold start (no fit yet: priors only)."""
    fitted_at: datetime | None
    n_items: int
    n_labelled: int
    n_patterns: int
    iterations: int
    converged: bool
    log_likelihood: float
    temperature: float = 1.0
    """The posterior's temperature, fitted on the human verdicts (1: the plain
    independent-errors posterior; below 1: the judges' evidence is discounted because
    their errors are correlated)."""
    error_model: str = "shrunk"
    """How each judge's errors are modelled: `shrunk` (its confusion matrix shrunk towards
    one accuracy per judge), `one-coin` (one accuracy per judge), `ordinal` (a bias and
    a spread per judge) or `equal judges` (one accuracy for the whole panel: the
    plurality of the votes decides), followed by ` labels-only` when it was estimated from the human
    verdicts alone (the unlabelled items read, not learned from). On scales that are not
    ordinal, chosen at each fit on held-out human verdicts (docs/statistics.md)."""
    classes: list[ScaleValue]
    scale: list[ScaleValue]
    class_priors: list[float]
    workers: list[JuryWorkerPublic]


class AgreementReport(BaseModel):
    """Window agreement statistics of one panel."""

    panel: str
    rubric: RubricRef
    window: str
    since: datetime
    truncated: bool = False
    """Always False: the figures are exact over the whole window. Kept for old readers."""
    n_patterns: int | None = None
    """Distinct vote patterns the window's items fell into (what the figures come from)."""
    weights_items: int | None = None
    """Weighted panels: the newest items the reliability weights were fitted on."""
    n_items: int
    n_human: int
    weighting: str
    fleiss_kappa: EstimatePublic | None
    krippendorff_alpha: EstimatePublic | None
    cohen_kappa: dict[str, dict[str, float | None]]
    judges: list[JudgeStatsPublic]
    jury: JuryPublic | None = None
    """Panels aggregated by the jury model: the model in force, per judge and order."""
