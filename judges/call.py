"""One judge call: the vote cache, the circuit breaker, and retries that follow the
provider's retry hints, all within the panel deadline.

A call always ends as a `Vote`. When retries stop early (the circuit opened, the deadline
came, the provider asked to wait longer than the time left) the last real call's error
stays the vote's error, its detail says why no further attempt was made, and `attempts`
counts the calls that really went out (each of which a proxy in front may retry again).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import time

from pydantic import BaseModel, ConfigDict, Field

from judges.breaker import CircuitBreaker
from judges.cache import VoteCache, cache_key
from judges.client import ChatClient, ChatRequest, ChatResult
from judges.config import JudgeConfig
from judges.errors import CallErrorKind, JudgeCallError, PermanentCallError, RetryableCallError
from judges.jurors import Juror
from judges.vote import Vote, canonical, canonical_probs
from rubrics import Item, Mode, ParsedVerdict, RenderedPrompt, Rubric, Unscored, parse_verdict
from rubrics.distribution import distribution
from rubrics.parse import MAX_PARSED_CHARS

log = logging.getLogger("quorum.judges")


class RetryPolicy(BaseModel):
    """Exponential backoff with full jitter, bounded by the panel deadline."""

    model_config = ConfigDict(frozen=True)

    base_s: float = Field(default=0.25, ge=0)
    cap_s: float = Field(default=4.0, ge=0)

    def delay(self, attempt: int, retry_after_s: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        backoff = rng.uniform(0, min(self.cap_s, self.base_s * 2 ** (attempt - 1)))
        return max(backoff, retry_after_s or 0.0)


async def ask(
    client: ChatClient,
    breaker: CircuitBreaker,
    retry: RetryPolicy,
    rng: random.Random,
    cache: VoteCache | None,
    judge: JudgeConfig,
    prompt: RenderedPrompt,
    rubric: Rubric,
    item: Item,
    deadline: float,
) -> Vote:
    """One judge shown one prompt, until an answer, a permanent error, `max_retries`, an
    open circuit or the `deadline` (monotonic seconds); always a vote, never raises."""
    started = time.monotonic()
    key = cache_key(judge, prompt.sha256) if cache is not None else ""
    if cache is not None:
        hit = await cache.get(key)
        if hit is not None:
            uncharged = hit.model_copy(update={"cost_source": None})
            vote = answered(judge, prompt, rubric, item, uncharged, ms(started), 0)
            # Nothing was spent on this call: the tokens were paid for the first time.
            return vote.model_copy(
                update={
                    "cached": True,
                    "prompt_tokens": None,
                    "completion_tokens": None,
                    "cost_usd": 0.0,
                }
            )
    request = ChatRequest(  # one request for every attempt
        model=judge.model,
        messages=tuple({"role": m.role, "content": m.content} for m in prompt.messages),
        api_base=judge.api_base,
        api_key_env=judge.api_key_env,
        params=judge.params,
        # The judge's own timeout, not what is left of the deadline (the timeout below
        # enforces that): the HTTP client is shared per timeout, and a value that changed
        # on every call would build a new client each time.
        timeout_s=judge.timeout_s,
        json_mode=judge.json_mode,
        logprobs=judge.logprobs,
    )
    attempt = 0
    last: JudgeCallError | None = None  # the last real call's error
    while True:
        if not breaker.allow():
            return _stopped(
                judge,
                prompt,
                last,
                CallErrorKind.CIRCUIT_OPEN,
                "circuit open",
                started,
                attempt,
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return _stopped(
                judge,
                prompt,
                last,
                CallErrorKind.DEADLINE,
                "panel deadline passed",
                started,
                attempt,
            )
        if (held := breaker.held_for()) > 0:  # the provider asked every call to wait
            if held >= remaining:
                why = (
                    f"the provider asked to wait {held:.1f} s more, {remaining:.2f} s left "
                    "before the panel deadline; not called"
                )
                return _stopped(
                    judge, prompt, last, CallErrorKind.RATE_LIMITED, why, started, attempt
                )
            await asyncio.sleep(held)
            continue
        attempt += 1
        try:
            # The judge's timeout bounds the whole attempt: litellm's bounds each read, so
            # an answer trickled byte by byte would otherwise hold the call to the deadline.
            async with asyncio.timeout(min(remaining, judge.timeout_s)):  # no extra task
                result = await client.complete(request)
        except TimeoutError:
            if remaining < judge.timeout_s:
                # Cut off by the panel deadline before the judge's own timeout: that
                # says nothing about the judge.
                breaker.abandon()
                return _stopped(
                    judge,
                    prompt,
                    last,
                    CallErrorKind.DEADLINE,
                    "panel deadline passed during the call",
                    started,
                    attempt,
                )
            error: JudgeCallError = RetryableCallError(CallErrorKind.TIMEOUT, "no answer in time")
        except JudgeCallError as exc:
            error = exc
        except asyncio.CancelledError:
            breaker.abandon()  # cut off by the deadline: says nothing about the judge
            raise
        except Exception as exc:  # a defect of the client, not the judge's answer: not retried
            breaker.abandon()  # frees a half-open probe, which would otherwise wait for ever
            log.exception("judge %s: the client failed on a call", judge.name)
            error = PermanentCallError(
                CallErrorKind.OTHER, f"internal error: {type(exc).__name__}: {exc}"
            )
            return _from_error(judge, prompt, error, None, started, attempt)
        else:
            breaker.record(None)
            if cache is not None:
                await cache.put(key, result)
            return answered(judge, prompt, rubric, item, result, ms(started), attempt)
        breaker.record(error.kind)
        if error.kind is CallErrorKind.RATE_LIMITED and error.retry_after_s:
            breaker.hold(error.retry_after_s)
        last = error
        if not error.retryable:
            return _from_error(judge, prompt, error, None, started, attempt)
        if attempt > judge.max_retries:
            reason = f"max_retries {judge.max_retries} reached" if judge.max_retries else None
            return _from_error(judge, prompt, error, reason, started, attempt)
        wait = retry.delay(attempt, error.retry_after_s, rng)
        left = deadline - time.monotonic()
        if wait >= left:
            hint = error.retry_after_s
            reason = (
                f"the provider asks to wait {hint:g} s, {max(left, 0):.2f} s left before "
                "the panel deadline"
                if hint is not None and hint >= left
                else "no time left to retry"
            )
            return _from_error(judge, prompt, error, reason, started, attempt)
        await asyncio.sleep(wait)


async def consult(
    juror: Juror,
    judge: JudgeConfig,
    prompt: RenderedPrompt,
    rubric: Rubric,
    item: Item,
    deadline: float,
) -> Vote:
    """A non-LLM juror's vote on one item, by the `deadline`; always a vote, never raises.
    No litellm call, cache or circuit breaker: the juror reads the item itself. The
    vote's `prompt_sha256` is the digest of what the juror read (its settings and texts)."""
    started = time.monotonic()
    digest = juror_digest(judge, rubric, item)
    try:
        async with asyncio.timeout(max(deadline - time.monotonic(), 0)):
            finding = await juror.assess(rubric, item)
    except TimeoutError:
        return failed(
            judge,
            prompt,
            CallErrorKind.DEADLINE,
            "panel deadline passed during the juror's work",
            latency_ms=ms(started),
            attempts=1,
        ).model_copy(update={"prompt_sha256": digest})
    except Exception as exc:  # a juror's own failure: a failed vote, not a crashed panel
        return failed(
            judge,
            prompt,
            CallErrorKind.OTHER,
            f"juror error: {type(exc).__name__}: {exc}",
            latency_ms=ms(started),
            attempts=1,
        ).model_copy(update={"prompt_sha256": digest})
    return Vote(
        judge=judge.name,
        model=judge.model,
        family=judge.family,
        value=finding.value,
        shown_value=finding.value,
        unscored=finding.unscored,
        detail=finding.detail,
        rationale=finding.rationale,
        raw_output=finding.raw_output,
        prompt_sha256=digest,
        latency_ms=ms(started),
        attempts=1,
        cost_usd=0.0,
    )


def juror_digest(judge: JudgeConfig, rubric: Rubric, item: Item) -> str:
    """SHA-256 of what a juror reads: its type and settings, the rubric and the texts."""
    body = {
        "juror": judge.type,
        "model": judge.model,
        "sets": judge.sets,
        "thresholds": judge.thresholds,
        "rubric": rubric.key,
        "response": item.response,
        "prompt": item.prompt,
        "reference": item.reference,
    }
    canonical_json = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical_json.encode()).hexdigest()


def _stopped(
    judge: JudgeConfig,
    prompt: RenderedPrompt,
    last: JudgeCallError | None,
    kind: CallErrorKind,
    reason: str,
    started: float,
    attempts: int,
) -> Vote:
    """The vote of a call stopped before another attempt: with no attempt yet, `kind`
    says why it was never called; after a real call, that call's error stays the
    vote's error and `reason` says why the retries stopped."""
    if last is None:
        detail = reason
        if kind is CallErrorKind.CIRCUIT_OPEN:
            detail = "circuit open after repeated failures; not called"
        return failed(judge, prompt, kind, detail, latency_ms=ms(started), attempts=attempts)
    return _from_error(judge, prompt, last, reason, started, attempts)


def _from_error(
    judge: JudgeConfig,
    prompt: RenderedPrompt,
    error: JudgeCallError,
    stopped: str | None,
    started: float,
    attempts: int,
) -> Vote:
    """A failed vote from a real call's error, with the provider's retry hint and why
    no further attempt was made."""
    parts = [error.detail]
    if error.retry_after_s:
        parts.append(f"retry hint {error.retry_after_s:g} s")
    if stopped:
        parts.append(f"retries stopped after {attempts} attempt(s): {stopped}")
    return failed(
        judge, prompt, error.kind, "; ".join(parts), latency_ms=ms(started), attempts=attempts
    )


def answered(
    judge: JudgeConfig,
    prompt: RenderedPrompt,
    rubric: Rubric,
    item: Item,
    result: ChatResult,
    latency_ms: float,
    attempts: int,
) -> Vote:
    """The vote of a call that came back (usable, or unscored with the reason). An answer
    the provider cut short (`finish_reason` `length` or `content_filter`) is unscored
    whatever it holds."""
    parsed = parse_verdict(rubric, result.text, item.texts())
    stopped = STOPPED_SHORT.get(result.finish_reason or "")
    if stopped is not None:
        said = f"; it held {parsed.value!r}, not taken" if parsed.usable else ""
        parsed = ParsedVerdict(
            value=None, unscored=stopped[0], detail=f"{stopped[1]}{said}", answers=None
        )
    dist = None
    if result.logprobs and parsed.usable and rubric.mode is not Mode.CHECKLIST:
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
        detail="; ".join(d for d in (parsed.detail, *result.notes, _cost_note(result)) if d),
        rationale=parsed.rationale,
        raw_output=kept_output(result.text),
        prompt_sha256=prompt.sha256,
        latency_ms=latency_ms,
        attempts=attempts,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        cost_usd=result.cost_usd,
        distribution=canonical_probs(dist.probs, prompt.order) if dist else None,
        expected=dist.expected if dist else None,
        entropy=dist.entropy if dist else None,
        question_order=prompt.question_order,
        answers=parsed.answers,
    )


STOPPED_SHORT = {
    "length": (
        Unscored.TRUNCATED,
        "the answer was cut at the token limit (finish_reason length): raise max_tokens",
    ),
    "content_filter": (
        Unscored.FILTERED,
        "the provider's content filter stopped the answer (finish_reason content_filter)",
    ),
}
"""Why a provider stopped an answer short, and the unscored reason it gives the vote."""


def kept_output(text: str) -> str:
    """What is stored of a judge's output: all of it, or past `MAX_PARSED_CHARS` the tail
    that was parsed, after a note of how much was left out (a judge answering megabytes
    would otherwise store them with every vote)."""
    if len(text) <= MAX_PARSED_CHARS:
        return text
    return f"[{len(text) - MAX_PARSED_CHARS:,} characters not kept]" + text[-MAX_PARSED_CHARS:]


def failed(
    judge: JudgeConfig,
    prompt: RenderedPrompt,
    kind: CallErrorKind,
    detail: str,
    *,
    latency_ms: float,
    attempts: int,
) -> Vote:
    """The vote of a call that did not come back: `kind` says why."""
    return Vote(
        judge=judge.name,
        model=judge.model,
        family=judge.family,
        order=prompt.order,
        reversed_scale=prompt.reversed_scale,
        question_order=prompt.question_order,
        error=kind,
        detail=detail,
        prompt_sha256=prompt.sha256,
        latency_ms=latency_ms,
        attempts=attempts,
    )


def _cost_note(result: ChatResult) -> str:
    """Where the cost came from, when it is not the default (litellm's price list)."""
    return "cost as reported by the provider" if result.cost_source == "provider" else ""


def ms(started: float) -> float:
    """Milliseconds since `started` (a `time.monotonic()` reading)."""
    return round((time.monotonic() - started) * 1000, 3)
