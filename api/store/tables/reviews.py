"""The human review queue and reviewers' decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from api.store.tables._columns import UTCDateTime, _ts


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
