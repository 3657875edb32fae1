"""Database tables (SQLModel). Schema changes go through Alembic (`api/store/migrations`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def _ts(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), **kw))


DRIFT_UNREAD = text(
    "status = 'decided' AND NOT drift_read AND subject_model IS NOT NULL"
    " AND verdict_compliant IS NOT NULL"
)
"""The final verdicts the drift sweep has still to read: its partial index keeps only them."""


class EvaluationRow(SQLModel, table=True):
    """One request judged by one panel; inserted before any judge is called."""

    __tablename__ = "evaluations"
    __table_args__ = (
        Index(
            "uq_evaluations_tenant_idempotency_key",
            "idempotency_tenant",
            "idempotency_key",
            unique=True,
        ),
        Index("ix_evaluations_subject_use_case", "subject_model", "use_case", "created_at"),
        Index(
            "ix_evaluations_drift_unread",
            "updated_at",
            "id",
            sqlite_where=DRIFT_UNREAD,
            postgresql_where=DRIFT_UNREAD,
        ),
    )

    id: str = Field(primary_key=True, max_length=32)
    kind: str = Field(max_length=16)
    """evaluation (pointwise) or comparison (pairwise)."""
    panel: str = Field(index=True, max_length=64)
    rubric_id: str = Field(max_length=64)
    rubric_version: int
    status: str = Field(index=True, max_length=16)
    """pending -> decided | in_review | failed."""
    input: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    request_metadata: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    app: str | None = Field(default=None, index=True, max_length=128)
    idempotency_key: str | None = Field(default=None, sa_column=Column(String(256), nullable=True))
    request_sha256: str = Field(max_length=64)
    verdict_value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    verdict_compliant: bool | None = None
    verdict_source: str | None = Field(default=None, max_length=16)
    confidence: float | None = None
    agreement: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    outcome: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    """Distribution, per-judge reconciled verdicts and weights."""
    routing_decision: str | None = Field(default=None, max_length=16)
    routing_reasons: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    audit_draw: float
    error: str | None = Field(default=None, sa_column=Column(Text))
    runs: int = 0
    """How many times judging started (more than 1 after a resume)."""
    webhook_url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """Where to push the result (and any later human verdict)."""
    api_key_id: str | None = Field(default=None, max_length=32)
    """The key that submitted it (its webhook secret signs deliveries)."""
    tenant: str | None = Field(default=None, max_length=64, index=True)
    """The submitting key's tenant; None: no tenant (rows from before tenants existed,
    open mode, keys of every tenant), visible to admin keys of every tenant only."""
    idempotency_tenant: str = Field(default="", max_length=64)
    """`tenant`, or "" for no tenant: idempotency keys are unique per tenant, and rows of
    no tenant share one namespace (a unique index treats NULLs as all different, and an
    expression index would not survive SQLite's table rebuilds in later migrations)."""
    assessment_id: str | None = Field(default=None, max_length=32, index=True)
    """The assessment this evaluation judges one criterion of, if any."""
    guidance: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """Use-case guidance the judges were given (from the panel or the profile)."""
    subject_model: str | None = Field(default=None, max_length=256)
    """The production model that wrote the judged response (`subject.model`), if named."""
    subject_version: str | None = Field(default=None, max_length=128)
    use_case: str | None = Field(default=None, max_length=128)
    """The request's governance use-case label (not the judges' `guidance`)."""
    lease_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True, index=True)
    )
    """While pending: the worker's claim on judging it; past it, another worker may resume."""
    created_at: datetime = _ts(nullable=False, index=True)
    updated_at: datetime = _ts(nullable=False)
    completed_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    window_key: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """The vote pattern this evaluation is counted under in `window_counts` (None: not
    counted: not concluded, failed, or not yet backfilled). See `api.services.window_keys`."""
    drift_read: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    """Whether the drift sweep has consumed this final verdict (`api.services.drift`): set
    by the sweep, never reset, so each verdict enters its chart once, whenever it commits."""


class WindowCountRow(SQLModel, table=True):
    """How many concluded evaluations of a panel and rubric, created in one hour, had one
    vote pattern: the window statistics sum these instead of reading every evaluation."""

    __tablename__ = "window_counts"

    panel: str = Field(primary_key=True, max_length=64)
    rubric_id: str = Field(primary_key=True, max_length=64)
    bucket: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    """Hours since 1970-01-01 UTC of the evaluations' `created_at`."""
    key: str = Field(sa_column=Column(Text, primary_key=True))
    """The pattern (`EvaluationRow.window_key`)."""
    n: int = 0


class VoteRow(SQLModel, table=True):
    """One judge call's outcome, with everything an auditor needs to replay it."""

    __tablename__ = "votes"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    evaluation_id: str = Field(
        sa_column=Column(
            String(32), ForeignKey("evaluations.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    judge: str = Field(max_length=64)
    model: str = Field(max_length=256)
    family: str | None = Field(default=None, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    order: str | None = Field(default=None, max_length=2)
    reversed_scale: bool = False
    value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    shown_value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    unscored: str | None = Field(default=None, max_length=32)
    error: str | None = Field(default=None, max_length=32)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    rationale: str | None = Field(default=None, sa_column=Column(Text))
    raw_output: str | None = Field(default=None, sa_column=Column(Text))
    prompt_sha256: str = Field(max_length=64)
    latency_ms: float
    attempts: int
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    distribution: dict[str, float] | None = Field(default=None, sa_column=Column(JSON))
    expected: float | None = None
    entropy: float | None = None
    cached: bool = False
    """The answer came from the exact-duplicate cache: no call was made for this vote."""
    question_order: list[str] | None = Field(default=None, sa_column=Column(JSON))
    """Checklist: the question ids in the order the call showed them."""
    answers: dict[str, str | None] | None = Field(default=None, sa_column=Column(JSON))
    """Checklist: each question's answer (yes, no, n/a; null where unscored)."""
    created_at: datetime = _ts(nullable=False)


class ReviewItemRow(SQLModel, table=True):
    """An evaluation routed to humans: pending -> claimed -> (pending again while more
    reviews are needed, or for adjudication) -> decided."""

    __tablename__ = "review_items"

    id: str = Field(primary_key=True, max_length=32)
    evaluation_id: str = Field(
        sa_column=Column(
            String(32),
            ForeignKey("evaluations.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        )
    )
    panel: str = Field(index=True, max_length=64)
    tenant: str | None = Field(default=None, max_length=64, index=True)
    """The evaluation's tenant: only that tenant's reviewers (and admins of every tenant)
    see and claim the item."""
    status: str = Field(index=True, max_length=16)
    """pending, claimed or decided."""
    stage: str = Field(default="review", max_length=16)
    """review (k independent reviewers) or adjudication (they disagreed)."""
    required_reviews: int = 1
    uncertainty: float
    """1 - confidence: the claim order puts the most uncertain first."""
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    claimed_by: str | None = Field(default=None, max_length=128)
    lease_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True, index=True)
    )
    final_value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    decided_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    created_at: datetime = _ts(nullable=False, index=True)
    updated_at: datetime = _ts(nullable=False)


class ReviewDecisionRow(SQLModel, table=True):
    """One reviewer's verdict on one review item, kept for audit and reviewer agreement."""

    __tablename__ = "review_decisions"
    __table_args__ = (
        UniqueConstraint("review_item_id", "reviewer", "stage", name="uq_decision_once"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    review_item_id: str = Field(
        sa_column=Column(
            String(32),
            ForeignKey("review_items.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    evaluation_id: str = Field(max_length=32, index=True)
    reviewer: str = Field(max_length=128)
    """The deciding principal: the key's name (open mode: the name sent)."""
    key_id: str | None = Field(default=None, max_length=32)
    """The key that decided (None in open mode)."""
    as_admin: bool = False
    """An admin decided an item claimed by someone else (consuming that claim)."""
    stage: str = Field(max_length=16)
    value: Any = Field(sa_column=Column(JSON, nullable=False))
    comment: str | None = Field(default=None, sa_column=Column(Text))
    shown_order: str | None = Field(default=None, max_length=2)
    """Pairwise: the order the reviewer was shown (`AB`: response_a first); `value` is
    canonical whatever it was."""
    created_at: datetime = _ts(nullable=False)


class ApiKeyRow(SQLModel, table=True):
    """An API key: only its SHA-256 is stored; the key itself is shown once at creation."""

    __tablename__ = "api_keys"

    id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=128)
    prefix: str = Field(max_length=16, index=True)
    """The key's public part, for lookup and for telling keys apart in lists."""
    sha256: str = Field(max_length=64)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    panels: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    """Panels the key may use; None: all."""
    tenant: str | None = Field(default=None, max_length=64)
    """Whose data the key reads and writes; None (admin keys only): every tenant's."""
    rate_limit_per_min: int | None = None
    """Requests per minute; None: the service default."""
    webhook_secret: str | None = Field(default=None, max_length=128)
    """Signs webhook deliveries for evaluations this key submits (shown once, at creation)."""
    created_at: datetime = _ts(nullable=False)
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class WebhookDeliveryRow(SQLModel, table=True):
    """One webhook message: written in the transaction that completes the evaluation (an
    outbox), then delivered with retries, so no result is lost between database and hook."""

    __tablename__ = "webhook_deliveries"

    id: str = Field(primary_key=True, max_length=32)
    evaluation_id: str = Field(max_length=32, index=True)
    url: str = Field(sa_column=Column(Text, nullable=False))
    event: str = Field(max_length=48)
    """evaluation.completed or evaluation.verdict_changed."""
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    api_key_id: str | None = Field(default=None, max_length=32)
    status: str = Field(default="pending", max_length=16, index=True)
    """pending, delivered or failed (gave up after the last attempt)."""
    attempts: int = 0
    next_attempt_at: datetime = _ts(nullable=False, index=True)
    last_status: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = _ts(nullable=False)
    delivered_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class CalibrationRow(SQLModel, table=True):
    """One calibration of a panel's confidence threshold, with the data it came from.
    The newest applied row of a panel is the threshold in force."""

    __tablename__ = "calibrations"

    id: str = Field(primary_key=True, max_length=32)
    panel: str = Field(max_length=64, index=True)
    version: int
    """1, 2, 3... per panel."""
    alpha: float
    delta: float
    threshold: float | None
    """None when no threshold could be certified (everything goes to humans if applied)."""
    certified: bool
    coverage: float
    risk: float | None
    risk_upper: float | None
    n_items: int
    n_audit: int
    """Items among them that came from the random audit sample (the unbiased part)."""
    evaluation_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    """The human-reviewed evaluations it was computed from."""
    curve: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    applied: bool = False
    created_at: datetime = _ts(nullable=False)


class JuryModelRow(SQLModel, table=True):
    """One fitted jury model of a panel (`routing.jury.JuryModel` as JSON), versioned.
    The newest version of a panel is the model in force on every replica."""

    __tablename__ = "jury_models"
    __table_args__ = (UniqueConstraint("panel", "version", name="uq_jury_models_panel_version"),)

    id: str = Field(primary_key=True, max_length=32)
    panel: str = Field(max_length=64, index=True)
    version: int
    """1, 2, 3... per panel."""
    rubric_id: str = Field(max_length=64)
    rubric_version: int
    reason: str = Field(max_length=64)
    """What triggered the fit: `schedule`, `labels` (enough new human verdicts), `admin`."""
    n_items: int
    n_labelled: int
    n_patterns: int
    iterations: int
    converged: bool
    log_likelihood: float
    fit_seconds: float
    model: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    """`JuryModel.model_dump(mode="json")`: everything a posterior needs."""
    created_at: datetime = _ts(nullable=False)


class VoteCacheRow(SQLModel, table=True):
    """A judge's raw answer to one rendered prompt, for exact-duplicate caching."""

    __tablename__ = "vote_cache"

    key: str = Field(primary_key=True, max_length=64)
    result: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts(nullable=False, index=True)


class AuditEventRow(SQLModel, table=True):
    """One event of the audit trail: append-only, chained by hash (`api.store.audit_log`)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject", "subject_type", "subject_id"),)

    seq: int = Field(
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False
        )
    )
    """1, 2, 3... with no gap: a missing number is a deleted event."""
    at: datetime = _ts(nullable=False, index=True)
    event: str = Field(max_length=32)
    actor_key_id: str | None = Field(default=None, max_length=32)
    actor: str = Field(max_length=128)
    """The key's principal name, or "system", "worker", "cli"."""
    subject_type: str = Field(max_length=16)
    """evaluation, review, key, calibration, panel or export."""
    subject_id: str = Field(max_length=64)
    evaluation_id: str | None = Field(default=None, max_length=32, index=True)
    """The evaluation an evaluation or review event concerns (for the export by time)."""
    panel: str | None = Field(default=None, max_length=64)
    """The panel of an evaluation, review or calibration event (the export's filter)."""
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    record_sha256: str | None = Field(default=None, max_length=64)
    """SHA-256 of the subject record's canonical JSON just after the event."""
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


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
