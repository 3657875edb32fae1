"""Storing how an evaluation ended, each in one transaction: its verdict with the votes,
the review item, the window count, the audit event and the webhook's outbox row
(`store_verdict`), or its failure (`store_failure`). Both are conditional on the
evaluation still being pending: no read first, and no second writer (a replica that
resumed it) can conclude it twice."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from api.errors import NotFound
from api.schemas import EvaluationPublic
from api.services import evaluation_reads, present, records, trail
from api.services.webhooks import delivery
from api.services.window_keys import tally, window_key
from api.store import SessionFactory, inline_writes
from api.store.evaluations import EvaluationRepository
from api.store.tables import EvaluationRow, ReviewItemRow
from api.store.window_counts import WindowCountsRepository, move
from judges import Vote

__all__ = ["store_failure", "store_verdict"]


async def store_verdict(
    sessions: SessionFactory,
    row: EvaluationRow,
    votes: Sequence[Vote],
    outcome: dict[str, Any],
    vote_rows: Sequence[dict[str, Any]],
    review: ReviewItemRow | None,
) -> tuple[EvaluationPublic, bool]:
    """Conclude the pending evaluation `row` with `outcome` (`records.outcome`), its votes
    and review item; `row` takes the stored values. Returns the answer and True, or, if
    another worker concluded it first, what that one stored and False."""
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
            if not await repo.conclude(row.id, {**outcome, "window_key": key}):
                await session.rollback()  # read what the other worker stored, here
                stored = await repo.get(row.id)
                if stored is None:
                    raise NotFound(f"evaluation {row.id!r} vanished while being judged")
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


async def store_failure(
    sessions: SessionFactory, evaluation_id: str, reason: str
) -> EvaluationRow | None:
    """Mark the pending evaluation failed with `reason`, with its audit event and webhook's
    outbox row; the row, or None when it was no longer pending (a replica that completed
    it in the meantime keeps its result)."""
    async with sessions() as session:
        repo = EvaluationRepository(session)
        failed = await repo.conclude(evaluation_id, records.failure(reason))
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
