"""Storing how an evaluation ended, each in one transaction: its verdict with the votes,
the review item, the window count, the audit event and the webhook's outbox row
(`store_verdict`), or its failure (`store_failure`). Both are conditional on the
evaluation still being pending in the writer's run (`runs`, counted by each take-over):
no read first, no second writer can conclude it twice, and a writer whose lease another
replica took over (it stalled past it) concludes nothing: its result is superseded."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from api.errors import NotFound
from api.schemas import EvaluationPublic
from api.services import evaluation_reads, present, records, trail
from api.services.webhooks import delivery
from api.services.window_keys import tally, window_key
from api.store import DBAPIError, OperationalError, PoolTimeout, SessionFactory, inline_writes
from api.store.evaluations import EvaluationRepository
from api.store.tables import EvaluationRow, ReviewItemRow
from api.store.window_counts import WindowCountsRepository, move
from judges import Vote

__all__ = ["persist", "store_failure", "store_verdict"]

log = logging.getLogger("quorum.evaluate")
T = TypeVar("T")
RETRY_BASE_S = 0.5
RETRY_CAP_S = 5.0


def _unreachable(exc: Exception) -> bool:
    """The database could not be reached or used for now (a retry may succeed)."""
    if isinstance(exc, OperationalError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


async def persist(write: Callable[[], Awaitable[T]], left_s: Callable[[], float], what: str) -> T:
    """`write()`, retried with capped exponential backoff while the database cannot be
    reached and `left_s()` (what is left of the lease this process holds) allows, so a
    short outage delays an outcome instead of discarding the judges' answers; then the
    last error. Safe to repeat: each write is conditional (see the module docstring)."""
    delay = RETRY_BASE_S
    while True:
        try:
            return await write()
        except Exception as exc:
            if not _unreachable(exc) or left_s() <= delay:
                raise
            log.warning("could not store %s (%s); retrying in %.1f s", what, exc, delay)
        await asyncio.sleep(delay)
        delay = min(2 * delay, RETRY_CAP_S)


async def store_verdict(
    sessions: SessionFactory,
    row: EvaluationRow,
    votes: Sequence[Vote],
    outcome: dict[str, Any],
    vote_rows: Sequence[dict[str, Any]],
    review: ReviewItemRow | None,
) -> tuple[EvaluationPublic, bool]:
    """Conclude the pending evaluation `row` (the caller's copy: `row.runs` is the run it
    holds) with `outcome` (`records.outcome`), its votes and review item; `row` takes the
    stored values. Returns the answer and True, or, if another worker concluded it first
    or took it over (then it may still be pending), what is stored and False."""
    calls = tally((v["judge"], v.get("unscored"), v.get("error")) for v in vote_rows)
    key = window_key(
        outcome["status"],
        outcome["outcome"],
        outcome["verdict_value"],
        outcome["verdict_source"],
        calls,
    )
    with inline_writes():  # a short transaction: see api.store.inline_writes
        async with sessions() as session:
            repo = EvaluationRepository(session)
            if not await repo.conclude(row.id, {**outcome, "window_key": key}, row.runs):
                await session.rollback()  # read what the other worker stored, here
                stored = await repo.get(row.id)
                if stored is None:
                    raise NotFound(f"evaluation {row.id!r} vanished while being judged")
                _superseded(row, stored)
                return await evaluation_reads.presented(repo, stored), False
            for name, value in outcome.items():
                setattr(row, name, value)
            row.window_key = key
            if key is not None:  # the one writer that concluded it counts it, once
                cell = (row.panel, row.rubric_id, row.created_at)
                await WindowCountsRepository(session).add(move(cell, None, key))
            await repo.insert_votes(vote_rows)
            if review is not None:
                session.add(review)
            await trail.judged(session, row, vote_rows, review)
            public = present.evaluation(row, [present.vote(v) for v in votes], review)
            if row.webhook_url:  # the outbox row commits with the result
                session.add(
                    delivery(
                        row.id,
                        row.webhook_url,
                        "evaluation.completed",
                        public.model_dump(mode="json"),
                        row.api_key_id,
                    )
                )
            await session.commit()
    return public, True


def _superseded(mine: EvaluationRow, stored: EvaluationRow) -> None:
    """Say why a worker's result was not stored: it is discarded, the stored one stands."""
    if stored.runs != mine.runs:
        log.warning(
            "evaluation %s: run %d's result discarded, run %d took it over (now %s)",
            mine.id,
            mine.runs,
            stored.runs,
            stored.status,
        )
    else:
        log.info("evaluation %s was concluded by another worker first", mine.id)


async def store_failure(
    sessions: SessionFactory, evaluation_id: str, reason: str, run: int
) -> EvaluationRow | None:
    """Mark the pending evaluation failed with `reason`, with its audit event and webhook's
    outbox row, if `run` still holds it; the row, or None when it was no longer pending (a
    replica that completed it in the meantime keeps its result) or was taken over."""
    async with sessions() as session:
        repo = EvaluationRepository(session)
        failed = await repo.conclude(evaluation_id, records.failure(reason), run)
        row = await session.get(EvaluationRow, evaluation_id) if failed else None
        if row is not None:
            await trail.failed(session, row, await repo.votes(row.id), reason)
            if row.webhook_url:
                payload = present.evaluation(row, [], None).model_dump(mode="json")
                session.add(
                    delivery(row.id, row.webhook_url, "evaluation.failed", payload, row.api_key_id)
                )
        await session.commit()
    return row
