"""Reading stored evaluations as the API answers them: one by id, a filtered page, and
the stored twin of a repeated idempotency key, and waiting for a pending one to conclude.
Each read runs in a session of its own; `EvaluationService` (api/services/evaluator.py)
answers its routes with these."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from api.errors import Conflict, NotFound
from api.schemas import EvaluationFilters, EvaluationPublic
from api.services import present
from api.store import EVERYTHING, Reach, SessionFactory
from api.store.evaluations import EvaluationRepository
from api.store.tables import EvaluationRow

__all__ = ["POLL_S", "get", "judged", "page", "presented", "replay", "settled", "stored"]

POLL_S = 0.5
"""How often a request waiting for another replica's evaluation reads it again."""


async def presented(repo: EvaluationRepository, row: EvaluationRow) -> EvaluationPublic:
    """A stored evaluation with its votes and review item, as the API answers it."""
    votes = [present.vote(v) for v in await repo.votes(row.id)]
    return present.evaluation(row, votes, await repo.review_item(row.id))


async def get(
    sessions: SessionFactory, evaluation_id: str, reach: Reach = EVERYTHING
) -> EvaluationPublic:
    """The evaluation, if `reach` (the caller's tenant and panels) sees it: another
    tenant's or panel's id is not found, as an unknown id is."""
    async with sessions() as session:
        repo = EvaluationRepository(session)
        row = await repo.get(evaluation_id)
        if row is None or not reach.sees(row.tenant, row.panel):
            raise NotFound(f"no evaluation with id {evaluation_id!r}")
        return await presented(repo, row)


async def page(
    sessions: SessionFactory,
    reach: Reach,
    filters: EvaluationFilters,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[EvaluationPublic], int]:
    """The evaluations `reach` sees that match `filters`, newest first: one page and how
    many match in all."""
    async with sessions() as session:
        repo = EvaluationRepository(session)
        rows, total = await repo.page(reach, **filters.model_dump(), limit=limit, offset=offset)
        ids = [r.id for r in rows]
        votes = await repo.votes_of(ids)
        reviews = {r.evaluation_id: r for r in await repo.review_items_of(ids)}
    answers = [
        present.evaluation(
            row,
            [present.vote(v) for v in votes if v.evaluation_id == row.id],
            reviews.get(row.id),
        )
        for row in rows
    ]
    return answers, total


async def stored(sessions: SessionFactory, evaluation_id: str) -> EvaluationPublic | None:
    """The stored evaluation as the API answers it, or None."""
    async with sessions() as session:
        repo = EvaluationRepository(session)
        row = await repo.get(evaluation_id)
        return None if row is None else await presented(repo, row)


async def replay(
    sessions: SessionFactory, key: str, digest: str, tenant: str | None
) -> EvaluationPublic | None:
    """The evaluation `tenant` stored under idempotency `key`, or None; `Conflict` when
    the key was used for a request with another digest."""
    async with sessions() as session:
        repo = EvaluationRepository(session)
        row = await repo.by_idempotency_key(key, tenant)
        if row is None:
            return None
        if row.request_sha256 != digest:
            raise Conflict(
                f"idempotency key {key!r} was used for a different request (evaluation {row.id})"
            )
        return await presented(repo, row)


async def judged(
    sessions: SessionFactory, task: asyncio.Task[EvaluationPublic], evaluation_id: str
) -> EvaluationPublic:
    """What the judging in `task` stored. Shielded: a client that hangs up does not
    abandon a judged-half evaluation."""
    try:
        return await asyncio.shield(task)
    except Exception:
        # Judging failed inside the service: the evaluation was marked failed with the
        # reason (answer it, as a poll would); if even that could not be stored (the
        # database is down), the error itself is the answer (503).
        failed = await stored(sessions, evaluation_id)
        if failed is None or failed.status != "failed":
            raise
        return failed


async def settled(
    sessions: SessionFactory,
    evaluation: EvaluationPublic,
    within_s: float,
    running: Mapping[str, asyncio.Task[EvaluationPublic]],
) -> EvaluationPublic:
    """`evaluation` once it is no longer pending, waiting at most `within_s`: for the
    judging this process holds (`running`, by id), or else reading the row every `POLL_S`
    (another replica judges it, or will resume it); still pending when the time is up,
    as it is then."""
    ends = time.monotonic() + within_s
    while evaluation.status == "pending" and (left := ends - time.monotonic()) > 0:
        task = running.get(evaluation.id)
        if task is not None and not task.done():
            try:
                evaluation = await asyncio.wait_for(judged(sessions, task, evaluation.id), left)
            except TimeoutError:
                break
            continue
        await asyncio.sleep(min(POLL_S, left))
        evaluation = await stored(sessions, evaluation.id) or evaluation
    return evaluation
