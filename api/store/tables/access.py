"""API keys, webhook deliveries and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, Text
from sqlmodel import Field, SQLModel

from api.store.tables._columns import UTCDateTime, _ts


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
