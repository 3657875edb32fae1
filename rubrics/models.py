"""Rubric, Scale and compliance models: what is judged.

A rubric is loaded from YAML (see `rubrics.loader`) into these frozen models. Scale
values are JSON scalars (ints, strings or booleans); their order in `scale` is the
ordinal order, so index arithmetic (median, spread, normalised score) is well defined.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)

from rubrics.question import Prose, Question

ScaleValue = StrictBool | StrictInt | StrictStr
"""One allowed value of a rubric's scale: `4`, `"pass"`, `true`, `"A"`."""

PAIRWISE_SCALE: tuple[str, ...] = ("A", "B", "tie")
"""The fixed scale of every pairwise rubric; "A" is the response shown first."""

RUBRIC_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class Mode(StrEnum):
    """Whether one response is scored, two are compared, or one is checked question by
    question (a checklist: its scale is fail/pass, from its required questions)."""

    POINTWISE = "pointwise"
    PAIRWISE = "pairwise"
    CHECKLIST = "checklist"


CHECKLIST_SCALE: tuple[str, ...] = ("fail", "pass")
"""The overall scale of every checklist rubric: pass when its required questions pass."""


class Standard(BaseModel):
    """A regulation or standard a compliance rubric serves (audit metadata)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    """e.g. "EU AI Act", "GDPR", "OWASP Top 10 for LLM Applications 2025"."""
    ref: str = Field(min_length=1)
    """The article or entry: "Art. 15", "Art. 5(1)(f)", "LLM01:2025"."""
    note: str = ""


class CompliantMin(BaseModel):
    """Values at or above `min` (in scale order) count as compliant."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min: ScaleValue


class CompliantValues(BaseModel):
    """Exactly these values count as compliant."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    values: tuple[ScaleValue, ...] = Field(min_length=1)


class Rubric(BaseModel):
    """One versioned rubric. The (id, version) pair identifies it in every stored vote."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, Field(pattern=RUBRIC_ID_PATTERN)]
    """Stable identifier, used by panels and stored with every evaluation."""
    version: StrictInt = Field(ge=1, le=2**31 - 1)
    """Bumped on any change to criteria, scale or anchors (stored as a 32-bit integer)."""
    description: Prose = Field(min_length=1)
    mode: Mode
    scale: tuple[ScaleValue, ...] = Field(min_length=2)
    """Allowed values in ordinal order (worst first); pairwise is always A, B, tie."""
    criteria: Prose = Field(min_length=1)
    """What the judge must weigh, in prose; rendered into the judge's instructions."""
    anchors: dict[str, str] = Field(default_factory=dict)
    """Per-value descriptions, keyed by the value as text ("1", "pass", "A")."""
    compliant: CompliantMin | CompliantValues | None = None
    """Which verdicts count as compliant; None for rubrics that are not compliance checks."""
    requires: tuple[Literal["context", "reference"], ...] = ()
    """Input fields the rubric cannot be judged without (faithfulness needs context)."""
    standards: tuple[Standard, ...] = ()
    """Regulations or standards this rubric serves, for audit reports."""
    ordinal: bool = True
    """Whether the scale order is meaningful (mean/median/weighted kappa allowed)."""
    questions: tuple[Question, ...] = ()
    """Checklist rubrics: the yes/no questions, answered in one call (in a permuted order)."""
    not_applicable: ScaleValue | None = None
    """The scale value that means "this criterion does not apply to this item" (e.g.
    `n/a` on a data-leakage rubric for a response that handles no data). It must be the
    last scale value and is outside the ordinal order: a real answer (aggregated, agreed
    on, reviewed), but never compliant or not, and never a score."""
    guidance: str = ""
    """Use-case instructions for the judge (operator text, set by a panel or profile with
    `use_case`/`guidance`), rendered into the instructions, never into the data."""

    @model_validator(mode="before")
    @classmethod
    def _normalise_input(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            if isinstance(data.get("anchors"), dict):
                data["anchors"] = {value_key(k): v for k, v in data["anchors"].items()}
            if data.get("mode") == Mode.PAIRWISE.value:
                data.setdefault("ordinal", False)
            if data.get("mode") == Mode.CHECKLIST.value:
                data.setdefault("scale", list(CHECKLIST_SCALE))
                data.setdefault("compliant", {"values": ["pass"]})
        return data

    @model_validator(mode="after")
    def _check(self) -> Rubric:
        keys = [value_key(v) for v in self.scale]
        if len(set(keys)) != len(keys):
            raise ValueError("scale values must be distinct")
        if self.mode is Mode.PAIRWISE and tuple(self.scale) != PAIRWISE_SCALE:
            raise ValueError(f"a pairwise scale must be exactly {list(PAIRWISE_SCALE)}")
        unknown = sorted(set(self.anchors) - set(keys))
        if unknown:
            raise ValueError(f"anchors name values not on the scale: {unknown}")
        self._check_questions()
        if isinstance(self.compliant, CompliantMin) and self.index(self.compliant.min) is None:
            raise ValueError(f"compliant.min {self.compliant.min!r} is not on the scale")
        if isinstance(self.compliant, CompliantValues):
            off = [v for v in self.compliant.values if self.index(v) is None]
            if off:
                raise ValueError(f"compliant.values not on the scale: {off}")
        self._check_not_applicable()
        return self

    def _check_questions(self) -> None:
        if self.mode is not Mode.CHECKLIST:
            if self.questions:
                raise ValueError("questions belong to checklist rubrics (mode: checklist)")
            return
        if tuple(self.scale) != CHECKLIST_SCALE:
            raise ValueError(f"a checklist scale must be exactly {list(CHECKLIST_SCALE)}")
        if not self.questions:
            raise ValueError("a checklist rubric needs questions")
        ids = [q.id for q in self.questions]
        if len(set(ids)) != len(ids):
            raise ValueError("question ids must be distinct")
        if not any(q.required for q in self.questions):
            raise ValueError("a checklist rubric needs at least one required question")

    def question(self, question_id: str) -> Question | None:
        """The checklist question with this id, or None."""
        return next((q for q in self.questions if q.id == question_id), None)

    def _check_not_applicable(self) -> None:
        na = self.not_applicable
        if na is None:
            return
        if self.mode is Mode.PAIRWISE:
            raise ValueError("a pairwise rubric cannot have a not_applicable value")
        idx = self.index(na)
        if idx is None:
            raise ValueError(f"not_applicable {na!r} is not on the scale")
        if idx != len(self.scale) - 1:
            raise ValueError(f"not_applicable {na!r} must be the last scale value")
        if len(self.scale) < 3:
            raise ValueError("a scale with a not_applicable value needs two other values")
        if self.compliant is None:
            raise ValueError("not_applicable needs a compliance rule (`compliant`)")
        if isinstance(self.compliant, CompliantMin) and self.index(self.compliant.min) == idx:
            raise ValueError(f"compliant.min cannot be the not_applicable value {na!r}")
        if isinstance(self.compliant, CompliantValues) and any(
            self.index(v) == idx for v in self.compliant.values
        ):
            raise ValueError(f"compliant.values cannot hold the not_applicable value {na!r}")

    @property
    def key(self) -> str:
        """`id@version`, the rubric's identity in stored records."""
        return f"{self.id}@{self.version}"

    @property
    def applicable(self) -> tuple[ScaleValue, ...]:
        """The scale without its not-applicable value: the values that are ordered."""
        return self.scale[:-1] if self.not_applicable is not None else self.scale

    @property
    def numeric(self) -> bool:
        """True when every applicable scale value is an integer (so a mean is meaningful)."""
        return all(isinstance(v, int) and not isinstance(v, bool) for v in self.applicable)

    def is_not_applicable(self, value: object) -> bool:
        """Whether `value` is this rubric's not-applicable answer."""
        na = self.not_applicable
        return na is not None and type(value) is type(na) and value == na

    def index(self, value: object) -> int | None:
        """Position of `value` on the scale, or None when it is not a scale value."""
        for i, v in enumerate(self.scale):
            if type(v) is type(value) and v == value:
                return i
        return None

    def is_compliant(self, value: ScaleValue | None) -> bool | None:
        """Whether a verdict value counts as compliant; None when undefined."""
        if value is None or self.compliant is None or self.is_not_applicable(value):
            return None
        idx = self.index(value)
        if idx is None:
            return None
        if isinstance(self.compliant, CompliantMin):
            floor = self.index(self.compliant.min)
            return floor is not None and idx >= floor
        return any(self.index(v) == idx for v in self.compliant.values)

    def normalised(self, value: ScaleValue | None) -> float | None:
        """The value's position scaled to 0..1 (worst 0, best 1); None when off-scale or
        not applicable."""
        idx = None if value is None or self.is_not_applicable(value) else self.index(value)
        if idx is None:
            return None
        return idx / (len(self.applicable) - 1)


def value_key(value: object) -> str:
    """The text form of a scale value, as used for anchors and YAML keys."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
