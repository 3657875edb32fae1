"""The judged item: the texts a judge sees, untrusted, as the client sent them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from rubrics.errors import RubricError
from rubrics.models import Mode, Rubric

Role = Literal["system", "user", "assistant", "tool"]


class ItemError(RubricError):
    """The item lacks a field the rubric needs (a pointwise response, a context...)."""


class Turn(BaseModel):
    """One message of a judged conversation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    content: str


class Item(BaseModel):
    """What is judged. Pointwise items carry `response`; pairwise items `response_a/_b`.

    A conversation (`messages`) may stand in for `prompt` and `response`: without
    `response`, its last turn (which must be the assistant's) is the judged response;
    without `prompt`, the last user turn before it is the prompt. What remains of the
    conversation, before those turns, is shown to the judge as the history."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: str
    """The user's request that the response(s) answer."""
    system: str | None = None
    """The application's system prompt, as the judged model received it."""
    messages: tuple[Turn, ...] = ()
    """The conversation before the prompt (earlier turns), oldest first."""
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

    @model_validator(mode="before")
    @classmethod
    def _from_conversation(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not data.get("messages"):
            return data
        data = dict(data)
        turns = [t if isinstance(t, dict) else dict(t) for t in data["messages"]]
        pairwise = "response_a" in data or "response_b" in data
        if data.get("response") is None and not pairwise:
            if turns[-1].get("role") != "assistant":
                raise ValueError(
                    "without 'response', the last message must be the assistant's (it is judged)"
                )
            data["response"] = turns.pop()["content"]
        if data.get("prompt") is None:
            users = [i for i, t in enumerate(turns) if t.get("role") == "user"]
            if not users:
                raise ValueError("without 'prompt', the messages need a user turn")
            data["prompt"] = turns[users[-1]]["content"]
            turns = turns[: users[-1]] + turns[users[-1] + 1 :]
        data["messages"] = turns
        return data

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
            self.system,
            *(t.content for t in self.messages),
            self.response,
            self.response_a,
            self.response_b,
            self.context,
            self.reference,
        )
        return tuple(t for t in fields if t)


def item_from(fields: dict[str, Any]) -> Item:
    """An `Item` from the client's input fields; `ItemError` (not a validation error) when a
    conversation cannot be judged: no assistant turn to judge, no user turn for a prompt."""
    try:
        return Item(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in ("input", *first["loc"]))
        raise ItemError(f"{where}: {str(first['msg']).removeprefix('Value error, ')}") from exc
