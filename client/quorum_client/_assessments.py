"""Compliance assessments and governance profiles (answers of the Quorum REST API v1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from quorum_client._evaluations import EvaluationPublic, SubjectPublic


class CompliancePublic(BaseModel):
    """A profile's verdict on the input, from its criteria's final verdicts."""

    score: float | None
    """Weighted share of compliant criteria among the decided, applicable ones (0..1)."""
    compliant: bool | None
    """False once a must-pass criterion fails; else, once all are decided, whether
    `score` reaches `min_score`; None while not known."""
    min_score: float
    decided: int
    in_review: int
    not_applicable: int
    pending: int
    failed: int
    failing: list[str]


class CriterionPublic(BaseModel):
    panel: str
    rubric: str
    weight: float
    must_pass: bool
    evaluation: EvaluationPublic | None


class AssessmentPublic(BaseModel):
    """An assessment: the profile's compliance and every criterion's evaluation."""

    id: str
    profile: str
    status: Literal["pending", "decided", "in_review", "failed"]
    compliance: CompliancePublic
    criteria: list[CriterionPublic]
    metadata: dict[str, Any]
    subject: SubjectPublic | None = None
    """The production model that wrote the judged response, if the request named it."""
    use_case: str | None = None
    """The request's governance use-case label, if any (not the profile's `use_case`)."""
    idempotency_key: str | None = None
    webhook_url: str | None = None
    created_at: datetime
    completed_at: datetime | None


class ProfileCriterionPublic(BaseModel):
    panel: str
    rubric: str
    weight: float
    must_pass: bool
    standards: list[dict[str, str]]


class ProfilePublic(BaseModel):
    name: str
    description: str
    use: str | None
    min_score: float
    use_case: str | None
    criteria: list[ProfileCriterionPublic]
    standards: list[dict[str, str]]
