"""Is a judge reachable? Its provider key is present and its endpoint answers a minimal
call (one token) within the judge's own timeout, through the same `ChatClient` the panel
runner uses, so the answer covers what real calls need: key, address, model name.

`probe` never raises: a judge that cannot be reached is a `JudgeStatus` with `up` False
and a readable one-line `reason` (the call error's detail, already stripped of object
reprs and secrets). A client may offer `key_problem(request) -> str | None` (the litellm
adapter does: the `api_key_env` variable, or the provider's usual one that litellm
reads); a judge whose key is missing is reported down without calling it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict

from judges.client import ChatClient, ChatRequest
from judges.config import JudgeConfig
from judges.errors import CallErrorKind, JudgeCallError

PROBE_MESSAGES = ({"role": "user", "content": "Reply with the single word: ok"},)
"""The minimal call: a short prompt, answered with at most one token."""


class JudgeStatus(BaseModel):
    """The outcome of one probe of one judge."""

    model_config = ConfigDict(frozen=True)

    judge: str
    model: str
    up: bool
    reason: str | None = None
    """Why it is down: a missing key, or the call's error (one readable line); for a judge
    up, a note (a 429 at the check: the endpoint answered and took the key)."""
    latency_ms: float | None = None
    """How long the probe call took (None when no call was made)."""
    checked_at: float
    """Unix time of the probe."""


def probe_request(judge: JudgeConfig) -> ChatRequest:
    """The judge's own call settings with the smallest possible answer: one token, no JSON
    mode (some providers refuse it without the word "json" in the prompt), no logprobs."""
    return ChatRequest(
        model=judge.model,
        messages=PROBE_MESSAGES,
        api_base=judge.api_base,
        api_key_env=judge.api_key_env,
        params={**judge.params, "max_tokens": 1},
        timeout_s=judge.timeout_s,
        json_mode=False,
        logprobs=False,
    )


async def probe(client: ChatClient, judge: JudgeConfig) -> JudgeStatus:
    """One judge's key and endpoint; never raises."""
    request = probe_request(judge)
    now = time.time()

    def status(up: bool, reason: str | None = None, ms: float | None = None) -> JudgeStatus:
        return JudgeStatus(
            judge=judge.name, model=judge.model, up=up, reason=reason, latency_ms=ms, checked_at=now
        )

    if judge.type != "llm":  # a juror (patterns, a local model) calls no provider
        return status(True)
    key_problem: Any = getattr(client, "key_problem", None)
    missing = key_problem(request) if callable(key_problem) else None
    if missing:
        return status(False, missing)
    started = time.monotonic()
    try:
        async with asyncio.timeout(judge.timeout_s):
            await client.complete(request)
    except TimeoutError:
        return status(False, f"no answer within its timeout_s of {judge.timeout_s:g} s")
    except JudgeCallError as exc:
        if exc.kind is CallErrorKind.RATE_LIMITED:  # it answered, and the key was accepted
            ms = round((time.monotonic() - started) * 1000, 1)
            return status(True, f"rate limited at the check: {exc.detail}", ms)
        return status(False, f"{exc.kind.value}: {exc.detail}")
    except Exception as exc:  # an SDK bug must not stop the check of the others
        return status(False, f"{type(exc).__name__}: {exc}".splitlines()[0][:300])
    return status(True, ms=round((time.monotonic() - started) * 1000, 1))


async def probe_all(client: ChatClient, judges: Iterable[JudgeConfig]) -> dict[str, JudgeStatus]:
    """Every judge at once, by name."""
    listed = list(judges)
    found = await asyncio.gather(*(probe(client, j) for j in listed))
    return {s.judge: s for s in found}
