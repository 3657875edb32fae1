"""Governance: assessments, model zones and transitions, drift monitors and events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from api.store.tables._columns import UTCDateTime, _ts


class AssessmentRow(SQLModel, table=True):
    """One input judged on every criterion of a profile; each criterion is an evaluation
    (`evaluations.assessment_id`). The compliance figures are computed when read."""

    __tablename__ = "assessments"
    __table_args__ = (
        UniqueConstraint(
            "idempotency_tenant",
            "idempotency_key",
            name="uq_assessments_tenant_idempotency_key",
        ),
        Index("ix_assessments_subject_use_case", "subject_model", "use_case", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=32)
    profile: str = Field(index=True, max_length=64)
    input: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    request_metadata: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    app: str | None = Field(default=None, max_length=128)
    criteria: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    """The profile's criteria when accepted: panel, rubric, weight, must_pass."""
    min_score: float
    idempotency_key: str | None = Field(default=None, sa_column=Column(String(256), nullable=True))
    tenant: str | None = Field(default=None, max_length=64, index=True)
    """The submitting key's tenant (as on evaluations); None: no tenant."""
    idempotency_tenant: str = Field(default="", max_length=64)
    """`tenant`, or "": idempotency keys are unique per tenant (as on evaluations)."""
    request_sha256: str = Field(max_length=64)
    webhook_url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    api_key_id: str | None = Field(default=None, max_length=32)
    subject_model: str | None = Field(default=None, max_length=256)
    """The production model that wrote the judged response, if named (as on evaluations)."""
    subject_version: str | None = Field(default=None, max_length=128)
    use_case: str | None = Field(default=None, max_length=128)
    """The request's governance use-case label (as on evaluations)."""
    created_at: datetime = _ts(nullable=False, index=True)
    completed_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    """Set once, when every criterion has concluded (the completion webhook is queued)."""
    decided_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    """Set once, when the compliance verdict is first known (it is counted in metrics)."""


class ModelZoneRow(SQLModel, table=True):
    """The lifecycle zone of one subject model in one tenant (`api.services.lifecycle`).
    A model with no row is a `candidate`."""

    __tablename__ = "model_zones"
    __table_args__ = (UniqueConstraint("scope", "model", name="uq_model_zones_scope_model"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    scope: str = Field(default="", max_length=64)
    """The tenant whose governance this is, or "" (no tenant: open mode, every-tenant keys)."""
    model: str = Field(max_length=256)
    zone: str = Field(max_length=16)
    """candidate, validation, production or quarantine."""
    since: datetime = _ts(nullable=False)
    """When the model entered this zone (drift events before it do not count for policies)."""


class ModelTransitionRow(SQLModel, table=True):
    """One move of a subject model between zones, by a person or a policy, with the
    figures it rested on. Each also has an audit event (`transitioned`)."""

    __tablename__ = "model_transitions"
    __table_args__ = (Index("ix_model_transitions_scope_model", "scope", "model", "created_at"),)

    id: str = Field(primary_key=True, max_length=32)
    scope: str = Field(default="", max_length=64)
    model: str = Field(max_length=256)
    from_zone: str = Field(max_length=16)
    to_zone: str = Field(max_length=16)
    actor: str = Field(max_length=128)
    """The key's name, or `policy:<name>`."""
    actor_key_id: str | None = Field(default=None, max_length=32)
    policy: str | None = Field(default=None, max_length=64)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    figures: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    """What a policy decision rested on (n, value, bound, drift events); {} for a person."""
    created_at: datetime = _ts(nullable=False)


class DriftMonitorRow(SQLModel, table=True):
    """The stored CUSUM state of one verdict stream (tenant, model, use case, criterion)."""

    __tablename__ = "drift_monitors"
    __table_args__ = (
        UniqueConstraint(
            "scope", "model", "use_case", "criterion", name="uq_drift_monitors_stream"
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    scope: str = Field(default="", max_length=64)
    """The evaluations' tenant, or "" for rows of no tenant."""
    model: str = Field(max_length=256)
    use_case: str = Field(default="", max_length=128)
    """"" for evaluations with no use case."""
    criterion: str = Field(max_length=64)
    state: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    """`routing.governance.CusumState` as JSON."""
    updated_at: datetime = _ts(nullable=False)


class DriftEventRow(SQLModel, table=True):
    """A CUSUM alarm on one verdict stream: its non-compliance rate rose."""

    __tablename__ = "drift_events"
    __table_args__ = (Index("ix_drift_events_scope_model", "scope", "model", "created_at"),)

    id: str = Field(primary_key=True, max_length=32)
    scope: str = Field(default="", max_length=64)
    model: str = Field(max_length=256)
    use_case: str | None = Field(default=None, max_length=128)
    criterion: str = Field(max_length=64)
    statistic: float
    threshold: float
    p0: float
    """The in-control non-compliance rate the chart watched against."""
    n_items: int
    """Verdicts of the stream seen since the chart last started (baseline included)."""
    evaluation_id: str = Field(max_length=32)
    """The verdict that raised the alarm."""
    created_at: datetime = _ts(nullable=False, index=True)


class GovernanceCursorRow(SQLModel, table=True):
    """The last final verdict the drift sweep read (its `updated_at` and id): a record, and
    the row SQLite's sweeps lock; what has been read is `EvaluationRow.drift_read`."""

    __tablename__ = "governance_cursor"

    name: str = Field(primary_key=True, max_length=32)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    evaluation_id: str = Field(max_length=32)
