"""The judged item: the texts a judge sees, untrusted, as the client sent them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from rubrics.errors import RubricError
from rubrics.models import Mode, Rubric


class ItemError(RubricError):
    """The item lacks a field the rubric needs (a pointwise response, a context...)."""


class Item(BaseModel):
    """What is judged. Pointwise items carry `response`; pairwise items `response_a/_b`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: str
    """The user's request that the response(s) answer."""
    response: str | None = None
    """The response to score (pointwise)."""
    response_a: str | None = None
    """The first response of a comparison (pairwise); `A` in verdicts."""
    response_b: str | None = None
    """The second response of a comparison (pairwise); `B` in verdicts."""
    context: str | None = None
    """Supplied context: retrieved documents, tool output, a system prompt."""
    reference: str | None = None
    """A reference answer, where the client has one."""

    def check_for(self, rubric: Rubric) -> None:
        """Raise `ItemError` when the item cannot be judged on `rubric`."""
        if rubric.mode is not Mode.PAIRWISE and self.response is None:
            raise ItemError(
                f"rubric {rubric.id!r} is {rubric.mode.value}: the input needs 'response'"
            )
        if rubric.mode is Mode.PAIRWISE and (self.response_a is None or self.response_b is None):
            raise ItemError(
                f"rubric {rubric.id!r} is pairwise: the input needs 'response_a' and 'response_b'"
            )
        for field in rubric.requires:
            if not getattr(self, field):
                raise ItemError(f"rubric {rubric.id!r} needs input field {field!r}")

    def texts(self) -> tuple[str, ...]:
        """Every judged text, for checks that a verdict was not copied from them."""
        fields = (
            self.prompt,
            self.response,
            self.response_a,
            self.response_b,
            self.context,
            self.reference,
        )
        return tuple(t for t in fields if t)
