"""The answers of the Quorum REST API (v1) as pydantic models, gathered from one module per
area: evaluations with their votes, verdict, agreement and routing (`_evaluations`);
panels and rubrics (`_catalog`); agreement reports and the jury (`_agreement`); review
items (`_reviews`); assessments and profiles (`_assessments`).

They copy the service's own schemas (`api/schemas.py` in the Quorum repository) because
the client may not import the server. The Quorum test suite compares every model here and
in `_requests` with the service's OpenAPI schema, field by field (names, required-ness,
types, enums, limits), and fails on any difference. Answers ignore fields they do not
know, so an older client keeps reading a newer service.
"""

from __future__ import annotations

from pydantic import BaseModel

from quorum_client._agreement import (
    AgreementReport,
    EstimatePublic,
    JudgeStatsPublic,
    JuryPublic,
    JuryWorkerPublic,
)
from quorum_client._assessments import (
    AssessmentPublic,
    CompliancePublic,
    CriterionPublic,
    ProfileCriterionPublic,
    ProfilePublic,
)
from quorum_client._catalog import JudgePublic, PanelPublic, QuestionPublic, RubricPublic
from quorum_client._evaluations import (
    AgreementPublic,
    BatchResult,
    EvaluationPublic,
    JudgeVerdictPublic,
    QuestionVerdictPublic,
    ReasonPublic,
    RoutingPublic,
    RubricRef,
    ScaleValue,
    SubjectPublic,
    VerdictPublic,
    VotePublic,
)
from quorum_client._reviews import ReviewDecisionPublic, ReviewItemPublic

__all__ = [
    "ANSWERS",
    "AgreementPublic",
    "AgreementReport",
    "AssessmentPublic",
    "BatchResult",
    "CompliancePublic",
    "CriterionPublic",
    "EstimatePublic",
    "EvaluationPublic",
    "JudgePublic",
    "JudgeStatsPublic",
    "JudgeVerdictPublic",
    "JuryPublic",
    "JuryWorkerPublic",
    "PanelPublic",
    "ProfileCriterionPublic",
    "ProfilePublic",
    "QuestionPublic",
    "QuestionVerdictPublic",
    "ReasonPublic",
    "ReviewDecisionPublic",
    "ReviewItemPublic",
    "RoutingPublic",
    "RubricPublic",
    "RubricRef",
    "ScaleValue",
    "SubjectPublic",
    "VerdictPublic",
    "VotePublic",
]

ANSWERS: tuple[type[BaseModel], ...] = (
    RubricRef,
    VerdictPublic,
    AgreementPublic,
    ReasonPublic,
    RoutingPublic,
    VotePublic,
    QuestionVerdictPublic,
    JudgeVerdictPublic,
    SubjectPublic,
    EvaluationPublic,
    BatchResult,
    JudgePublic,
    PanelPublic,
    QuestionPublic,
    RubricPublic,
    EstimatePublic,
    JudgeStatsPublic,
    JuryWorkerPublic,
    JuryPublic,
    AgreementReport,
    ReviewDecisionPublic,
    ReviewItemPublic,
    CompliancePublic,
    CriterionPublic,
    AssessmentPublic,
    ProfileCriterionPublic,
    ProfilePublic,
)
"""The models the client reads answers into (the service serves them)."""
