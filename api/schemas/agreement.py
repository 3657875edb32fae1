"""Wire models of panel statistics: window agreement, the jury model, calibration."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from api.schemas.common import RubricRef
from rubrics import ScaleValue


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
    """The accuracy estimate behind the weight."""
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
    """Start of the window: every evaluation concluded since then is counted."""
    truncated: bool = False
    """Always False: the figures are exact over the whole window (per-hour counts of vote
    patterns). Kept for clients that read it."""
    n_patterns: int | None = None
    """Distinct vote patterns the window's items fell into (what the figures were
    computed from)."""
    weights_items: int | None = None
    """Weighted panels: the newest items of the window the reliability weights were
    fitted on (at most QUORUM_STATS_MAX_ITEMS); None otherwise."""
    n_items: int
    n_human: int
    weighting: str
    fleiss_kappa: EstimatePublic | None
    krippendorff_alpha: EstimatePublic | None
    cohen_kappa: dict[str, dict[str, float | None]]
    judges: list[JudgeStatsPublic]
    jury: JuryPublic | None = None
    """Panels aggregated by the jury model: the model in force, per judge and order."""


class CalibrationRequest(BaseModel):
    """Calibrate the panel's threshold (a dry run unless `apply`), or, with `reset: true`
    alone, put the panel's configured `routing.min_confidence` back in force (the undo of
    an applied calibration, recorded as a version of its own).

    One model rather than a union of two, so that a bad field is reported at its own
    location (`body.alpha`) and alone, not once per union member."""

    model_config = ConfigDict(
        extra="forbid",
        # What the validator below requires, in the schema too: alpha (reset absent or
        # false), or reset true alone.
        json_schema_extra={
            "oneOf": [
                {"required": ["alpha"], "properties": {"reset": {"const": False}}},
                {
                    "required": ["reset"],
                    "properties": {"reset": {"const": True}},
                    "not": {"anyOf": [{"required": [k]} for k in ("alpha", "delta", "apply")]},
                },
            ]
        },
    )

    alpha: Annotated[
        float | None,
        WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}),
    ] = Field(default=None, gt=0, lt=1)
    """Tolerated disagreement rate of auto-decided items with humans. Required, unless
    `reset` is true."""
    delta: float = Field(default=0.1, gt=0, lt=1)
    """Allowed probability that the guarantee fails."""
    apply: bool = False
    """Put the threshold in force for the panel; only a certified threshold is ever put in
    force. False (the default): a dry run, stored for the record."""
    reset: bool = False
    """True: the configured threshold back in force; takes no other field."""

    @model_validator(mode="after")
    def _calibration_or_reset(self) -> CalibrationRequest:
        if self.reset:
            given = [k for k in ("alpha", "delta", "apply") if k in self.model_fields_set]
            if given:
                message = f"reset: true takes no {', '.join(given)}"
                raise _error(given[0], PydanticCustomError("reset_alone", message))
        elif self.alpha is None:
            message = "Field required (or reset: true, to put the configured threshold back)"
            raise _error("alpha", PydanticCustomError("missing", message))
        return self


def _error(field: str, error: PydanticCustomError) -> ValidationError:
    """A validation error at `field`, for a check that needs the whole model."""
    detail = InitErrorDetails(type=error, loc=(field,), input=None)
    return ValidationError.from_exception_data(CalibrationRequest.__name__, [detail])


class CalibrationPublic(BaseModel):
    """A stored calibration: the threshold, what it guarantees, the data behind it."""

    id: str
    panel: str
    version: int
    alpha: float
    delta: float
    threshold: float | None
    """None: no threshold certified (if applied, every item goes to humans)."""
    certified: bool
    coverage: float
    """Share of the calibration items the threshold would decide automatically."""
    risk: float | None
    risk_upper: float | None
    n_items: int
    n_audit: int
    applied: bool
    """In force (until a newer applied version); never true for an uncertified one."""
    kind: Literal["calibration", "reset"]
    """`reset`: the configured threshold put back (`threshold` shows it; no items)."""
    reviews_needed: int | None
    """Uncertified: at least how many more human reviews, all agreeing with the panel,
    certification needs at this alpha and delta; None when certified or a reset."""
    created_at: datetime
    curve: list[dict[str, Any]]
