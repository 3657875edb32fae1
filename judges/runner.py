"""The panel runner: ask every judge concurrently, under one deadline, with retries.

Pairwise items are shown to each judge in both orders when `position_swap` is on. Every
call ends as a `Vote`: a failure (timeout, 429, 5xx, garbage) degrades the panel to the
votes that came back; it never raises. Quorum and aggregation are `routing`'s job.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence

from pydantic import BaseModel, ConfigDict, Field

from judges.breaker import BreakerPolicy, CircuitBreaker
from judges.cache import VoteCache, cache_key
from judges.client import ChatClient, ChatRequest, ChatResult
from judges.config import JudgeConfig
from judges.errors import CallErrorKind, JudgeCallError, RetryableCallError
from judges.vote import Vote, canonical, canonical_probs
from rubrics import Item, Mode, Order, RenderedPrompt, Rubric, parse_verdict, render
from rubrics.distribution import distribution


class RetryPolicy(BaseModel):
    """Exponential backoff with full jitter, bounded by the panel deadline."""

    model_config = ConfigDict(frozen=True)

    base_s: float = Field(default=0.25, ge=0)
    cap_s: float = Field(default=4.0, ge=0)

    def delay(self, attempt: int, retry_after_s: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        backoff = rng.uniform(0, min(self.cap_s, self.base_s * 2 ** (attempt - 1)))
        return max(backoff, retry_after_s or 0.0)


class PanelRunner:
    """Fans one item out to a panel's judges through a `ChatClient`."""

    def __init__(
        self,
        client: ChatClient,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        breaker: BreakerPolicy | None = None,
        cache: VoteCache | None = None,
    ) -> None:
        self._client = client
        self._retry = retry or RetryPolicy()
        self._rng = rng or random.Random()
        self._breaker_policy = breaker or BreakerPolicy()
        self._breakers: dict[str, CircuitBreaker] = {}
        self.cache = cache

    def breaker(self, judge: str) -> CircuitBreaker:
        """The circuit breaker of one judge (created closed on first use)."""
        found = self._breakers.get(judge)
        if found is None:
            found = self._breakers.setdefault(judge, CircuitBreaker(self._breaker_policy))
        return found

    async def run(
        self,
        judges: Sequence[JudgeConfig],
        rubric: Rubric,
        item: Item,
        *,
        deadline_s: float,
        position_swap: bool = True,
        scale_swap: bool = False,
    ) -> tuple[Vote, ...]:
        """Ask every judge; one vote per call. Pairwise with `position_swap`: both orders.
        Pointwise with `scale_swap`: the scale listed worst-first and best-first."""
        item.check_for(rubric)
        shows: tuple[tuple[Order | None, bool], ...] = ((None, False),)
        if rubric.mode is Mode.PAIRWISE:
            shows = (("AB", False), ("BA", False)) if position_swap else (("AB", False),)
        elif scale_swap:
            shows = ((None, False), (None, True))
        prompts = [render(rubric, item, order=o, reverse_scale=rev) for o, rev in shows]
        calls = [(j, p) for j in judges for p in prompts]  # the prompt is the same for all
        deadline = time.monotonic() + deadline_s
        tasks = [asyncio.create_task(self._ask(j, p, rubric, item, deadline)) for j, p in calls]
        # The grace lets each call record its own deadline error before we cancel it.
        done, pending = await asyncio.wait(tasks, timeout=deadline_s + 0.5)
        for task in pending:
            task.cancel()
        votes = []
        for (judge, prompt), task in zip(calls, tasks, strict=True):
            if task in done and not task.cancelled() and task.exception() is None:
                votes.append(task.result())
            elif task in done and not task.cancelled():
                exc = task.exception()  # a bug, not a slow judge: say so, do not call it late
                votes.append(
                    self._failed(
                        judge,
                        prompt,
                        CallErrorKind.OTHER,
                        f"internal error: {type(exc).__name__}: {exc}"[:300],
                        latency_ms=0.0,
                        attempts=0,
                    )
                )
            else:
                votes.append(
                    self._failed(
                        judge,
                        prompt,
                        CallErrorKind.DEADLINE,
                        "panel deadline passed",
                        latency_ms=deadline_s * 1000,
                        attempts=0,
                    )
                )
        return tuple(votes)

    async def run_waves(
        self,
        waves: Sequence[Sequence[JudgeConfig]],
        rubric: Rubric,
        item: Item,
        *,
        deadline_s: float,
        stop: Callable[[Sequence[Vote], Sequence[str]], bool],
        position_swap: bool = True,
        scale_swap: bool = False,
    ) -> tuple[Vote, ...]:
        """Ask the judges wave by wave, all under one deadline, until `stop(votes so far,
        names of the judges not yet asked)` says the rest cannot matter."""
        started = time.monotonic()
        votes: list[Vote] = []
        for i, wave in enumerate(waves):
            left = deadline_s - (time.monotonic() - started)
            if left <= 0:
                break
            votes += await self.run(
                wave,
                rubric,
                item,
                deadline_s=left,
                position_swap=position_swap,
                scale_swap=scale_swap,
            )
            pending = [j.name for later in waves[i + 1 :] for j in later]
            if not pending or stop(votes, pending):
                break
        return tuple(votes)

    async def _ask(
        self,
        judge: JudgeConfig,
        prompt: RenderedPrompt,
        rubric: Rubric,
        item: Item,
        deadline: float,
    ) -> Vote:
        started = time.monotonic()
        key = cache_key(judge, prompt.sha256) if self.cache is not None else ""
        if self.cache is not None:
            hit = await self.cache.get(key)
            if hit is not None:
                vote = self._vote(judge, prompt, rubric, item, hit, _ms(started), 0)
                # Nothing was spent on this call: the tokens were paid for the first time.
                return vote.model_copy(
                    update={
                        "cached": True,
                        "prompt_tokens": None,
                        "completion_tokens": None,
                        "cost_usd": 0.0,
                    }
                )
        breaker = self.breaker(judge.name)
        attempt = 0
        while True:
            attempt += 1
            if not breaker.allow():
                return self._failed(
                    judge,
                    prompt,
                    CallErrorKind.CIRCUIT_OPEN,
                    "circuit open after repeated failures; not called",
                    latency_ms=_ms(started),
                    attempts=attempt - 1,
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return self._failed(
                    judge,
                    prompt,
                    CallErrorKind.DEADLINE,
                    "panel deadline passed",
                    latency_ms=_ms(started),
                    attempts=attempt - 1,
                )
            request = ChatRequest(
                model=judge.model,
                messages=tuple(m.model_dump() for m in prompt.messages),
                api_base=judge.api_base,
                api_key_env=judge.api_key_env,
                params=judge.params,
                # The judge's own timeout, not what is left of the deadline (the timeout
                # below enforces that): litellm caches its HTTP clients by timeout, and a
                # value that changed on every call would build a new client each time.
                timeout_s=judge.timeout_s,
                json_mode=judge.json_mode,
                logprobs=judge.logprobs,
            )
            try:
                async with asyncio.timeout(remaining):  # no extra task, unlike wait_for
                    result = await self._client.complete(request)
            except TimeoutError:
                error: JudgeCallError = RetryableCallError(
                    CallErrorKind.TIMEOUT, "no answer in time"
                )
            except JudgeCallError as exc:
                error = exc
            except asyncio.CancelledError:
                breaker.abandon()  # cut off by the deadline: says nothing about the judge
                raise
            else:
                breaker.success()
                if self.cache is not None:
                    await self.cache.put(key, result)
                return self._vote(judge, prompt, rubric, item, result, _ms(started), attempt)
            if error.retryable:
                breaker.failure()
            else:
                breaker.success()  # bad credentials or request: the judge itself is up
            if not error.retryable or attempt > judge.max_retries:
                return self._failed(
                    judge,
                    prompt,
                    error.kind,
                    error.detail,
                    latency_ms=_ms(started),
                    attempts=attempt,
                )
            wait = self._retry.delay(attempt, error.retry_after_s, self._rng)
            if time.monotonic() + wait >= deadline:
                return self._failed(
                    judge,
                    prompt,
                    error.kind,
                    f"{error.detail} (no time left to retry)",
                    latency_ms=_ms(started),
                    attempts=attempt,
                )
            await asyncio.sleep(wait)

    @staticmethod
    def _vote(
        judge: JudgeConfig,
        prompt: RenderedPrompt,
        rubric: Rubric,
        item: Item,
        result: ChatResult,
        latency_ms: float,
        attempts: int,
    ) -> Vote:
        parsed = parse_verdict(rubric, result.text, item.texts())
        dist = None
        if result.logprobs and parsed.usable:
            tokens = [
                (t.token, t.logprob, [(a.token, a.logprob) for a in t.top]) for t in result.logprobs
            ]
            dist = distribution(rubric, tokens, parsed.value)
        return Vote(
            judge=judge.name,
            model=judge.model,
            family=judge.family,
            order=prompt.order,
            reversed_scale=prompt.reversed_scale,
            value=canonical(parsed.value, prompt.order),
            shown_value=parsed.value,
            unscored=parsed.unscored,
            detail=parsed.detail,
            rationale=parsed.rationale,
            raw_output=result.text,
            prompt_sha256=prompt.sha256,
            latency_ms=latency_ms,
            attempts=attempts,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            cost_usd=result.cost_usd,
            distribution=canonical_probs(dist.probs, prompt.order) if dist else None,
            expected=dist.expected if dist else None,
            entropy=dist.entropy if dist else None,
        )

    @staticmethod
    def _failed(
        judge: JudgeConfig,
        prompt: RenderedPrompt,
        kind: CallErrorKind,
        detail: str,
        *,
        latency_ms: float,
        attempts: int,
    ) -> Vote:
        return Vote(
            judge=judge.name,
            model=judge.model,
            family=judge.family,
            order=prompt.order,
            reversed_scale=prompt.reversed_scale,
            error=kind,
            detail=detail,
            prompt_sha256=prompt.sha256,
            latency_ms=latency_ms,
            attempts=attempts,
        )


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 3)
