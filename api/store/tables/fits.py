"""What is fitted from human verdicts: calibrated thresholds and jury models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from api.store.tables._columns import _ts


class CalibrationRow(SQLModel, table=True):
    """One calibration of a panel's confidence threshold, with the data it came from.
    The newest applied row of a panel is the threshold in force."""

    __tablename__ = "calibrations"
    __table_args__ = (Index("uq_calibrations_panel_version", "panel", "version", unique=True),)

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
