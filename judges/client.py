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


MAX_TOKEN_COUNT = 2**31 - 1
"""The largest token count taken from a provider's usage (a 32-bit column in PostgreSQL)."""


def token_count(value: object) -> int | None:
    """A usage figure as reported, when it is one: an integer from 0 to `MAX_TOKEN_COUNT`;
    anything else (negative, huge, a string, a float) is unknown, never stored or counted."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOKEN_COUNT:
        return value
    return None


def read_logprobs(choice: Any) -> tuple[tuple[TokenLogprob, ...] | None, str]:
    """The token log-probabilities of an OpenAI-shaped choice (objects or dicts alike), and
    why they were ignored ("" when they were not, or when there were none). Log-probabilities
    that are not a list of tokens, each with a text and a logprob <= 0 (-inf is a probability of 0;
    the same for its alternatives), are no distribution: all are ignored and the verdict stands on
    its text alone."""
    lp = getattr(choice, "logprobs", None)
    content = getattr(lp, "content", None) if lp is not None else None
    if content is None and isinstance(lp, dict):
        content = lp.get("content")
    if not content:
        return None, ""
    if not isinstance(content, list | tuple):
        return None, f"logprobs ignored: content is {type(content).__name__}, not a list"
    out = []
    for tok in content:
        tops = _field(tok, "top_logprobs") or []
        if not isinstance(tops, list | tuple):
            return None, "logprobs ignored: top_logprobs is not a list"
        chosen = _token(tok)
        entries = [e for t in tops if (e := _token(t)) is not None]
        if chosen is None or len(entries) < len(tops):
            return None, "logprobs ignored: a token without text or without a logprob <= 0"
        top = tuple(TopLogprob(token=t, logprob=v) for t, v in entries)
        out.append(TokenLogprob(token=chosen[0], logprob=chosen[1], top=top))
    return tuple(out), ""


def _token(obj: Any) -> tuple[str, float] | None:
    """(text, logprob) of one token entry, or None when it is not one."""
    token, logprob = _field(obj, "token"), _field(obj, "logprob")
    if not isinstance(token, str) or isinstance(logprob, bool):
        return None
    if not isinstance(logprob, int | float) or not logprob <= 1e-6:  # NaN and inf too
        return None  # a probability above 1 is no probability (rounding aside); -inf is 0
    return token, min(float(logprob), 0.0)


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
    finish_reason: str | None = None
    """Why the model stopped (`stop`, `length`: cut at max_tokens, `content_filter`...),
    as the provider said; None when it did not."""
    notes: tuple[str, ...] = ()
    """What the client ignored in the answer and why (logprobs, usage figures): shown in
    the vote's detail."""


class ChatClient(Protocol):
    """Sends one chat request; raises `JudgeCallError` subclasses on failure."""

    async def complete(self, request: ChatRequest) -> ChatResult: ...
