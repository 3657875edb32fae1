"""Reading stored evaluations as the API answers them: one by id, a filtered page, and
the stored twin of a repeated idempotency key. Each read runs in a session of its own;
`EvaluationService` (api/services/evaluator.py) answers its routes with these."""

from __future__ import annotations

from api.errors import Conflict, NotFound
from api.schemas import EvaluationFilters, EvaluationPublic
from api.services import present
from api.store import EVERYTHING, Reach, SessionFactory
from api.store.evaluations import EvaluationRepository
from api.store.tables import EvaluationRow

__all__ = ["get", "page", "presented", "replay", "stored"]


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
