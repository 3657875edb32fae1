"""Request and response schemas of assessments and profiles (REST v1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import SubjectPublic
from api.schemas.evaluations import EvaluationCreate, EvaluationPublic, PointwiseInput, _Submission


class AssessmentCreate(_Submission):
    """Judge one response on every criterion of a profile."""

    profile: str = Field(min_length=1, max_length=64)
    input: PointwiseInput

    def criterion(self, panel: str) -> EvaluationCreate:
        """The evaluation request of one criterion (the assessment's webhook is its own);
        it inherits the assessment's subject and use case."""
        return EvaluationCreate(
            panel=panel,
            input=self.input,
            metadata=self.metadata,
            subject=self.subject,
            use_case=self.use_case,
        )


class CompliancePublic(BaseModel):
    """The profile's verdict on the input, from its criteria's final verdicts."""

    score: float | None
    """Weighted share of compliant criteria among the decided, applicable ones (0..1);
    None while none is decided or when none applies."""
    compliant: bool | None
    """False once a must-pass criterion fails; else, when every criterion is decided,
    whether `score` reaches `min_score`; None while that is not known."""
    min_score: float
    decided: int
    """Criteria with a final verdict (panel or human), n/a included."""
    in_review: int
    """Criteria waiting for a human verdict."""
    not_applicable: int
    """Decided criteria whose verdict is n/a: out of the score, counted here."""
    pending: int
    failed: int
    failing: list[str]
    """Panels of the decided criteria that are not compliant."""


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


class AssessmentBatchCreate(BaseModel):
    """Many assessments judged concurrently; each is validated and answered on its own."""

    model_config = ConfigDict(extra="forbid")

    items: list[dict[str, Any]] = Field(min_length=1)
    """Each like the body of POST /v1/assessments."""


class AssessmentBatchResult(BaseModel):
    index: int
    status: int
    assessment: AssessmentPublic | None = None
    problem: dict[str, Any] | None = None


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
    """The shipped profile it uses, if any."""
    min_score: float
    use_case: str | None
    criteria: list[ProfileCriterionPublic]
    standards: list[dict[str, str]]
