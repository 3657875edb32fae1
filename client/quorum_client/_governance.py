"""Governance answers and requests: subject models' zones and transitions, drift events,
the compliance matrix and the routing recommendation (docs/governance.md in the Quorum
repository). Copies of the service's schemas, compared with its OpenAPI by the Quorum
test suite like the models of `_models` and `_requests`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Zone = Literal["candidate", "validation", "production", "quarantine"]
"""Where a subject model stands; a model never seen is a candidate."""


# --- rates ------------------------------------------------------------------------------


class Rate(BaseModel):
    """A share of items with its two-sided Wilson score interval."""

    n: int = Field(ge=1)
    k: int = Field(ge=0)
    value: float = Field(ge=0.0, le=1.0)
    low: float = Field(ge=0.0, le=1.0)
    high: float = Field(ge=0.0, le=1.0)
    level: float = Field(gt=0.0, lt=1.0)


class CorrectedRate(BaseModel):
    """A rate corrected for the judges' errors on the audit sample (prediction-powered
    inference): the judges' rate on all items plus the correction measured on the audited."""

    value: float
    low: float = Field(ge=0.0, le=1.0)
    high: float = Field(ge=0.0, le=1.0)
    level: float = Field(gt=0.0, lt=1.0)
    n_all: int = Field(ge=1)
    n_audited: int = Field(ge=2)
    uncorrected: float = Field(ge=0.0, le=1.0)
    correction: float
    lam: float = Field(ge=0.0, le=1.0)
    std_error: float = Field(ge=0.0)


class TrendPoint(BaseModel):
    """One time bucket's rate (None when the bucket holds no item)."""

    start: datetime
    rate: Rate | None


class Change(BaseModel):
    """The last half of the window's rate minus the first half's, with its interval."""

    first: Rate
    last: Rate
    value: float = Field(ge=-1.0, le=1.0)
    low: float = Field(ge=-1.0, le=1.0)
    high: float = Field(ge=-1.0, le=1.0)
    level: float = Field(gt=0.0, lt=1.0)


class Trend(BaseModel):
    """Rates per bucket and the change over the window."""

    points: list[TrendPoint]
    change: Change | None
    direction: Literal["up", "down", "flat", "unknown"]


# --- lifecycle --------------------------------------------------------------------------


class TransitionCreate(BaseModel):
    """An admin moves a model to another zone, saying why."""

    model_config = ConfigDict(extra="forbid")

    to: Zone
    reason: str = Field(min_length=1, max_length=2000)


class TransitionPublic(BaseModel):
    """One move of a model between zones: who or which policy made it, and on what."""

    id: str
    model: str
    from_zone: Zone
    to_zone: Zone
    actor: str
    """The key's name, or `policy:<name>`."""
    policy: str | None
    reason: str
    figures: dict[str, Any]
    created_at: datetime


class DriftEventPublic(BaseModel):
    """A CUSUM alarm: the non-compliance rate of one verdict stream rose."""

    id: str
    model: str
    use_case: str | None
    criterion: str
    statistic: float
    threshold: float
    p0: float
    n_items: int
    evaluation_id: str
    created_at: datetime


class ModelPublic(BaseModel):
    """A subject model's zone, with its latest transition and drift."""

    model: str
    zone: Zone
    since: datetime | None
    last_transition: TransitionPublic | None
    drift_events: int
    last_drift_at: datetime | None


class EvaluateResult(BaseModel):
    """What evaluating a model now did: the sweep's drift events and the policies'
    transitions (none when no policy applied)."""

    model: str
    zone: Zone
    """The zone after the transitions."""
    transitions: list[TransitionPublic]
    drift_events: list[DriftEventPublic]
    reason: str


# --- compliance and recommendation ------------------------------------------------------


class CriterionCompliance(BaseModel):
    """One criterion's compliance for a model and use case in the window."""

    criterion: str
    n: int
    n_awaiting: int = 0
    """Evaluations whose verdict is not known yet (being judged or with a human)."""
    rate: Rate | None
    corrected: CorrectedRate | None
    n_audited: int
    trend: Trend


class ComplianceRow(BaseModel):
    """One cell of the matrix: a subject model on a use case."""

    model: str
    use_case: str | None
    n: int
    n_awaiting: int = 0
    """Assessments whose compliance is not known yet (a criterion being judged or with a
    human)."""
    rate: Rate | None
    corrected: CorrectedRate | None
    n_audited: int
    trend: Trend
    criteria: list[CriterionCompliance]


class ComplianceMatrix(BaseModel):
    """Compliance per subject model x use case (and per criterion) over a window."""

    profile: str
    window: str
    since: datetime
    data: list[ComplianceRow]
    count: int


class Ranked(BaseModel):
    """A model in the recommendation's ranking, with why it is or is not chosen."""

    model: str
    zone: Zone
    eligible: bool
    position: int | None
    estimate: Literal["judges", "corrected"] | None
    n: int
    n_audited: int
    value: float | None
    low: float | None
    high: float | None
    reason: str


class RecommendationPublic(BaseModel):
    """The model to route a use case to: the best production model by the lower bound of
    its compliance, with the whole ranking and the reasons."""

    model: str | None
    use_case: str | None
    profile: str | None
    window: str
    ranking: list[Ranked]
    reason: str


GOVERNANCE_ANSWERS: tuple[type[BaseModel], ...] = (
    Rate,
    CorrectedRate,
    TrendPoint,
    Change,
    Trend,
    TransitionPublic,
    DriftEventPublic,
    ModelPublic,
    EvaluateResult,
    CriterionCompliance,
    ComplianceRow,
    ComplianceMatrix,
    Ranked,
    RecommendationPublic,
)
"""The governance models the client reads answers into."""
GOVERNANCE_REQUESTS: tuple[type[BaseModel], ...] = (TransitionCreate,)
"""The governance request bodies the client sends."""
