"""The ChatClient protocol: the one thing the panel runner needs from an LLM SDK.

`judges.litellm_client.LiteLLMClient` is the production implementation; tests point it
at an OpenAI-compatible server on loopback rather than replacing it.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

CostSource = Literal["provider", "price_list"]
"""Where a call's cost came from: the provider's or proxy's own report on the response, or
litellm's local price list for the model's name."""


class TopLogprob(BaseModel):
    """One alternative token and its log-probability."""

    model_config = ConfigDict(frozen=True)

    token: str
    logprob: float


class TokenLogprob(BaseModel):
    """One generated token, its log-probability and the top alternatives."""

    model_config = ConfigDict(frozen=True)

    token: str
    logprob: float
    top: tuple[TopLogprob, ...] = ()


def logprobs_of(choice: Any) -> tuple[TokenLogprob, ...] | None:
    """The token log-probabilities of an OpenAI-shaped choice (objects or dicts alike)."""
    lp = getattr(choice, "logprobs", None)
    content = getattr(lp, "content", None) if lp is not None else None
    if content is None and isinstance(lp, dict):
        content = lp.get("content")
    if not content:
        return None
    out = []
    for tok in content:
        tops = _field(tok, "top_logprobs") or []
        out.append(
            TokenLogprob(
                token=str(_field(tok, "token")),
                logprob=float(_field(tok, "logprob")),
                top=tuple(
                    TopLogprob(token=str(_field(t, "token")), logprob=float(_field(t, "logprob")))
                    for t in tops
                ),
            )
        )
    return tuple(out)


def _field(obj: Any, name: str) -> Any:
    """Read a field from a litellm object or a plain dict alike."""
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


class ChatRequest(BaseModel):
    """One judge call, provider-neutral."""

    model_config = ConfigDict(frozen=True)

    model: str
    messages: tuple[dict[str, str], ...]
    api_base: str | None = None
    api_key_env: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    timeout_s: float = 30.0
    json_mode: bool = True
    logprobs: bool = False


class ChatResult(BaseModel):
    """What came back from one successful call."""

    model_config = ConfigDict(frozen=True)

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    cost_source: CostSource | None = None
    """Where `cost_usd` came from; None when the cost is unknown."""
    logprobs: tuple[TokenLogprob, ...] | None = None


class ChatClient(Protocol):
    """Sends one chat request; raises `JudgeCallError` subclasses on failure."""

    async def complete(self, request: ChatRequest) -> ChatResult: ...
