"""The panel runner: ask every judge concurrently, under one deadline, with retries.

Pairwise items are shown to each judge in both orders when `position_swap` is on; a
checklist's questions are shown to each judge in its own order, drawn from the `seed`
(the evaluation id) and the judge's name. A non-LLM juror (`pattern`, `embedding`) is
asked once, through `judges.call.consult`, never through the chat client. Every
call ends as a `Vote` (`judges.call`): a failure (timeout, 429, 5xx, garbage) degrades the
panel to the votes that came back; it never raises. Given the panel's quorum, the runner
stops waiting for stragglers a bounded grace after the quorum of judges has answered; the
calls it cuts off are recorded as `timeout` votes, never dropped. Whether the votes reach
the quorum, and what they mean, is `routing`'s job.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence

from judges import jurors
from judges.breaker import BreakerPolicy, CircuitBreaker
from judges.cache import VoteCache
from judges.call import RetryPolicy, ask, consult, failed, ms
from judges.client import ChatClient
from judges.config import JudgeConfig
from judges.errors import CallErrorKind
from judges.vote import Vote
from rubrics import Item, Mode, Order, RenderedPrompt, Rubric, render
from rubrics.checklist import permutation

MIN_STRAGGLER_GRACE_S = 1.0
"""The least time the calls still out get once the quorum is in, unless a panel sets its
own `straggler_grace_s`."""


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
        self._jurors: dict[str, jurors.Juror] = {}
        self.cache = cache

    def juror(self, judge: JudgeConfig) -> jurors.Juror:
        """The juror of a non-LLM judge (built on first use, kept for the process)."""
        key = judge.model_dump_json()
        found = self._jurors.get(key)
        if found is None:
            found = self._jurors.setdefault(key, jurors.build(judge))
        return found

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
        quorum: int | None = None,
        straggler_grace_s: float | None = None,
        seed: str = "",
    ) -> tuple[Vote, ...]:
        """Ask every judge; one vote per call. Pairwise with `position_swap`: both orders.
        Pointwise with `scale_swap`: the scale listed worst-first and best-first.

        With `quorum`, once that many judges have answered (all their calls done, one
        usable vote at least) the calls still out get `straggler_grace_s` more (None: twice
        the slowest answer so far, at least `MIN_STRAGGLER_GRACE_S`), then are cancelled
        and recorded as `timeout` votes. Without it, every call has until the deadline.
        `seed` (the evaluation id) fixes each judge's checklist question order."""
        item.check_for(rubric)
        shows: tuple[tuple[Order | None, bool], ...] = ((None, False),)
        if rubric.mode is Mode.PAIRWISE:
            shows = (("AB", False), ("BA", False)) if position_swap else (("AB", False),)
        elif scale_swap:
            shows = ((None, False), (None, True))
        prompts = [render(rubric, item, order=o, reverse_scale=rev) for o, rev in shows]
        calls: list[tuple[JudgeConfig, RenderedPrompt]] = []
        for j in judges:
            if j.type != "llm":
                calls.append((j, prompts[0]))  # a juror reads the item once, in no order
            elif rubric.mode is Mode.CHECKLIST:
                calls.append(
                    (j, render(rubric, item, question_order=permutation(rubric, seed, j.name)))
                )
            else:
                calls += [(j, p) for p in prompts]  # the prompt is the same for all
        started = time.monotonic()
        deadline = started + deadline_s
        tasks = [
            asyncio.create_task(
                ask(
                    self._client,
                    self.breaker(j.name),
                    self._retry,
                    self._rng,
                    self.cache,
                    j,
                    p,
                    rubric,
                    item,
                    deadline,
                )
                if j.type == "llm"
                else consult(self.juror(j), j, p, rubric, item, deadline)
            )
            for j, p in calls
        ]
        # The grace lets each call record its own deadline error before we cancel it.
        until = deadline + 0.5
        grace: float | None = None  # set once the quorum is in
        pending: set[asyncio.Task[Vote]] = set(tasks)
        while pending and (left := until - time.monotonic()) > 0:
            finished, pending = await asyncio.wait(
                pending, timeout=left, return_when=asyncio.FIRST_COMPLETED
            )
            if grace is None and quorum is not None and pending and finished:
                answered = _answered(calls, tasks)
                if len(answered) >= quorum:
                    slowest = max(v.latency_ms for v in answered.values()) / 1000
                    grace = (
                        straggler_grace_s
                        if straggler_grace_s is not None
                        else max(MIN_STRAGGLER_GRACE_S, 2 * slowest)
                    )
                    until = min(until, time.monotonic() + grace)
        for task in pending:
            task.cancel()
        votes = []
        for (judge, prompt), task in zip(calls, tasks, strict=True):
            if task.done() and not task.cancelled() and task.exception() is None:
                votes.append(task.result())
            elif task.done() and not task.cancelled():
                exc = task.exception()  # a bug, not a slow judge: say so, do not call it late
                votes.append(
                    failed(
                        judge,
                        prompt,
                        CallErrorKind.OTHER,
                        f"internal error: {type(exc).__name__}: {exc}",
                        latency_ms=0.0,
                        attempts=0,
                    )
                )
            elif grace is not None:
                votes.append(
                    failed(
                        judge,
                        prompt,
                        CallErrorKind.TIMEOUT,
                        f"cancelled: still out {grace:.2f} s after the quorum was in "
                        "(straggler grace)",
                        latency_ms=ms(started),
                        attempts=0,
                    )
                )
            else:
                votes.append(
                    failed(
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
        seed: str = "",
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
                seed=seed,
            )
            pending = [j.name for later in waves[i + 1 :] for j in later]
            if not pending or stop(votes, pending):
                break
        return tuple(votes)


def _answered(
    calls: Sequence[tuple[JudgeConfig, RenderedPrompt]], tasks: Sequence[asyncio.Task[Vote]]
) -> dict[str, Vote]:
    """Judges with every call done and at least one usable vote: name -> slowest vote."""
    by_judge: dict[str, list[asyncio.Task[Vote]]] = {}
    for (judge, _), task in zip(calls, tasks, strict=True):
        by_judge.setdefault(judge.name, []).append(task)
    answered = {}
    for name, own in by_judge.items():
        if not all(t.done() and not t.cancelled() and t.exception() is None for t in own):
            continue
        votes = [t.result() for t in own]
        if any(v.usable for v in votes):
            answered[name] = max(votes, key=lambda v: v.latency_ms)
    return answered
