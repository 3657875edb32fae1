"""The candidate model being qualified (`quorum qualify`): one prompt of a corpus sent to it
through the same `ChatClient` the judges use (`LiteLLMClient` in production), with the
judges' conventions: a per-attempt timeout, retries on retryable errors only, waits that
follow the provider's retry hints (`RetryPolicy`).

`answer` never raises for a failed call: the answer then carries the error, and the
qualification reports it apart (a model that could not answer was not judged).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from judges.call import RetryPolicy
from judges.client import ChatClient, ChatRequest
from judges.config import RESERVED_PARAMS
from judges.errors import CallErrorKind, JudgeCallError, RetryableCallError


class Candidate(BaseModel):
    """How to reach the candidate model: a litellm model string and, for an
    OpenAI-compatible server, its base URL and the variable that holds its key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(min_length=1, max_length=256)
    """A litellm model string, e.g. `openai/gpt-4o-mini` or `ollama/llama3`."""
    api_base: str | None = None
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """The environment variable holding the key (litellm's provider default when unset)."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Extra litellm parameters (temperature, max_tokens...)."""
    timeout_s: float = Field(default=60.0, gt=0, le=600)
    """Per-attempt timeout."""
    max_retries: int = Field(default=2, ge=0, le=10)
    """Retries after a retryable failure (429, 5xx, timeout, dropped connection)."""

    @field_validator("params")
    @classmethod
    def _no_reserved(cls, params: dict[str, Any]) -> dict[str, Any]:
        clash = sorted(RESERVED_PARAMS & params.keys())
        if clash:
            raise ValueError(f"params may not set {clash}: Quorum sets them itself")
        return params


class CandidateAnswer(BaseModel):
    """What the candidate answered to one prompt, or why it did not."""

    model_config = ConfigDict(frozen=True)

    text: str | None
    """The answer; None when every attempt failed (see `error`)."""
    error: str | None = None
    """`<kind>: <detail>` of the last failed attempt, readable and secret-free."""
    attempts: int
    latency_ms: float
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None


async def answer(
    client: ChatClient,
    candidate: Candidate,
    messages: Sequence[dict[str, str]],
    *,
    retry: RetryPolicy | None = None,
    rng: random.Random | None = None,
) -> CandidateAnswer:
    """The candidate's answer to `messages` (system, then user), after at most
    `max_retries` retries of a retryable failure; never raises for a failed call."""
    retry = retry or RetryPolicy()
    rng = rng or random.Random()
    started = time.monotonic()
    request = ChatRequest(
        model=candidate.model,
        messages=tuple(dict(m) for m in messages),
        api_base=candidate.api_base,
        api_key_env=candidate.api_key_env,
        params=candidate.params,
        timeout_s=candidate.timeout_s,
        json_mode=False,  # an answer to a user, not a verdict
    )
    attempt = 0
    while True:
        attempt += 1
        try:
            async with asyncio.timeout(candidate.timeout_s):
                result = await client.complete(request)
        except TimeoutError:
            error: JudgeCallError = RetryableCallError(CallErrorKind.TIMEOUT, "no answer in time")
        except JudgeCallError as exc:
            error = exc
        else:
            return CandidateAnswer(
                text=result.text,
                attempts=attempt,
                latency_ms=_ms(started),
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
                cost_usd=result.cost_usd,
            )
        if not error.retryable or attempt > candidate.max_retries:
            return CandidateAnswer(
                text=None, error=str(error), attempts=attempt, latency_ms=_ms(started)
            )
        await asyncio.sleep(retry.delay(attempt, error.retry_after_s, rng))


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
