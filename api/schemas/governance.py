"""Wire models of governance: subject models' zones and transitions, drift events, the
compliance matrix and the routing recommendation (docs/governance.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import NoNul
from routing.governance import CorrectedRate, Ranked, Rate, Trend, Zone


class TransitionCreate(BaseModel):
    """An admin moves a model to another zone, saying why."""

    model_config = ConfigDict(extra="forbid")

    to: Zone
    reason: Annotated[str, NoNul] = Field(min_length=1, max_length=2000)


class TransitionPublic(BaseModel):
    """One move of a model between zones: who or which policy made it, and on what."""

    id: str
    model: str
    from_zone: Zone
    to_zone: Zone
    actor: str
    """The key's name (open mode: "open"), or `policy:<name>`."""
    policy: str | None
    reason: str
    figures: dict[str, Any]
    """What a policy rested on (its figure: n, value, bound; or the drift events)."""
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
    """The in-control non-compliance rate the chart watched against."""
    n_items: int
    """Verdicts of the stream since the chart (re)started."""
    evaluation_id: str
    """The verdict that raised the alarm."""
    created_at: datetime


class ModelPublic(BaseModel):
    """A subject model's zone, with its latest transition and drift."""

    model: str
    zone: Zone
    since: datetime | None
    """When it entered the zone; None for a candidate never moved."""
    last_transition: TransitionPublic | None
    drift_events: int
    """Drift events since it entered its zone (those that policies still read)."""
    last_drift_at: datetime | None
    """When its last drift event was raised, whatever its zone then."""


class EvaluateResult(BaseModel):
    """What evaluating a model now did: the sweep's new drift events and the policies'
    transitions (none when no policy applied)."""

    model: str
    zone: Zone
    """The zone after the transitions."""
    transitions: list[TransitionPublic]
    drift_events: list[DriftEventPublic]
    """Drift events this sweep raised on the model."""
    reason: str
    """What happened, in a sentence ("no policy applied", ...)."""


class CriterionCompliance(BaseModel):
    """One criterion's compliance for a model and use case in the window."""

    criterion: str
    n: int
    """Decided, applicable evaluations (n/a verdicts are out of every rate)."""
    n_awaiting: int = 0
    """Evaluations of the window whose verdict is not known yet (being judged, or waiting
    for a human): in no rate. A rate of 8 of 8 with 12 awaiting is 8 of 20 so far."""
    rate: Rate | None
    """Share compliant of the final verdicts (human where there is one), Wilson 95%."""
    corrected: CorrectedRate | None
    """The judges' rate corrected on the audit sample (PPI); None with under 2 audited."""
    n_audited: int
    """Audited evaluations (random audit draw, human verdict) the correction rests on."""
    trend: Trend


class ComplianceRow(BaseModel):
    """One cell of the matrix: a subject model on a use case."""

    model: str
    use_case: str | None
    n: int
    """Assessments whose profile compliance is known."""
    n_awaiting: int = 0
    """Assessments of the window whose compliance is not known yet (a criterion being
    judged, or waiting for a human): in no rate."""
    rate: Rate | None
    corrected: CorrectedRate | None
    n_audited: int
    """Assessments every criterion of which was audited."""
    trend: Trend
    criteria: list[CriterionCompliance]


class ComplianceMatrix(BaseModel):
    """Compliance per subject model x use case (and per criterion) over a window."""

    profile: str
    window: str
    since: datetime
    data: list[ComplianceRow]
    count: int


class RecommendationPublic(BaseModel):
    """The model to route a use case to: the best production model by the lower bound of
    its compliance, with the whole ranking and the reasons."""

    model: str | None
    use_case: str | None
    profile: str | None
    window: str
    ranking: list[Ranked]
    reason: str
