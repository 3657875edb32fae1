"""A checklist rubric's question: one yes/no (optionally n/a) check on the response."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

QUESTION_ID = r"^[a-z0-9][a-z0-9_-]{0,31}$"


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("blank: only spaces")
    return text


Prose = Annotated[str, AfterValidator(_not_blank)]
"""Text a judge or a reviewer reads (a question, a rubric's criteria): not only spaces."""
YES, NO, NA = "yes", "no", "n/a"
ANSWERS: tuple[str, ...] = (NO, YES, NA)
"""Every answer a checklist question can take (n/a only where the question allows it)."""


class Question(BaseModel):
    """One checklist question; "yes" is the compliant answer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, Field(pattern=QUESTION_ID)]
    """Stable identifier: the key of the judge's answer and of the stored per-question votes."""
    text: Prose = Field(min_length=1)
    """The question, phrased so that "yes" is the compliant answer."""
    required: bool = True
    """The criterion is compliant only when every required question passes."""
    na: bool = False
    """Whether "n/a" (the question does not apply) is an allowed answer; it passes."""

    @property
    def answers(self) -> tuple[str, ...]:
        """The allowed answers, worst first."""
        return (NO, YES, NA) if self.na else (NO, YES)
