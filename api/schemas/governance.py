"""Wire models of governance: subject models' zones and transitions, drift events, the
compliance matrix and the routing recommendation (docs/governance.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Zone = Literal["candidate", "validation", "production", "quarantine"]
ZONES: tuple[Zone, ...] = ("candidate", "validation", "production", "quarantine")


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
    """Drift events since it entered its zone."""
    last_drift_at: datetime | None


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
