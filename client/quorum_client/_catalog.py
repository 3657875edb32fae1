"""The catalog: panels, judges and rubrics (answers of the Quorum REST API v1)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from quorum_client._evaluations import RubricRef, ScaleValue


class JudgePublic(BaseModel):
    name: str
    type: Literal["llm", "pattern", "embedding"] = "llm"
    model: str
    family: str | None
    weight: float


class PanelPublic(BaseModel):
    name: str
    description: str
    rubric: RubricRef
    mode: str
    judges: list[JudgePublic]
    aggregation: str
    quorum: int
    position_swap: bool
    deadline_s: float
    routing: dict[str, Any]


class QuestionPublic(BaseModel):
    id: str
    text: str
    required: bool
    na: bool


class RubricPublic(BaseModel):
    id: str
    version: int
    description: str
    mode: str
    scale: list[ScaleValue]
    criteria: str
    anchors: dict[str, str]
    compliant: dict[str, Any] | None
    requires: list[str]
    standards: list[dict[str, str]]
    questions: list[QuestionPublic] = []
    """Checklist rubrics: the questions, in the rubric's order."""
    not_applicable: ScaleValue | None = None
    """The value meaning "does not apply": a real answer, never compliant or not."""
