"""Queries of the audit trail: evaluations page by page with everything recorded about
them, and deletion past retention."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, tuple_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.store.tables import (
    AssessmentRow,
    EvaluationRow,
    ReviewDecisionRow,
    ReviewItemRow,
    VoteRow,
)


class AuditRepository:
    """Audit reads and retention over one session (the caller owns the transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def evaluations(
        self,
        since: datetime,
        until: datetime,
        panel: str | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[EvaluationRow]:
        """Evaluations created in [since, until), ordered by (created_at, id), the next
        `limit` after the key `after` (keyset pagination)."""
        q = select(EvaluationRow).where(
            col(EvaluationRow.created_at) >= since, col(EvaluationRow.created_at) < until
        )
        if panel is not None:
            q = q.where(col(EvaluationRow.panel) == panel)
        if after is not None:
            q = q.where(
                tuple_(col(EvaluationRow.created_at), col(EvaluationRow.id)) > tuple_(*after)
            )
        order = q.order_by(col(EvaluationRow.created_at), col(EvaluationRow.id)).limit(limit)
        return list((await self.session.exec(order)).all())

    async def votes(self, ids: Sequence[str]) -> dict[str, list[VoteRow]]:
        votes: dict[str, list[VoteRow]] = {}
        q = select(VoteRow).where(col(VoteRow.evaluation_id).in_(ids)).order_by(col(VoteRow.id))
        for v in (await self.session.exec(q)).all():
            votes.setdefault(v.evaluation_id, []).append(v)
        return votes

    async def review_items(self, ids: Sequence[str]) -> dict[str, ReviewItemRow]:
        q = select(ReviewItemRow).where(col(ReviewItemRow.evaluation_id).in_(ids))
        return {r.evaluation_id: r for r in (await self.session.exec(q)).all()}

    async def decisions(self, ids: Sequence[str]) -> dict[str, list[ReviewDecisionRow]]:
        decisions: dict[str, list[ReviewDecisionRow]] = {}
        q = (
            select(ReviewDecisionRow)
            .where(col(ReviewDecisionRow.evaluation_id).in_(ids))
            .order_by(col(ReviewDecisionRow.id))
        )
        for d in (await self.session.exec(q)).all():
            decisions.setdefault(d.evaluation_id, []).append(d)
        return decisions

    async def delete_before(self, cutoff: datetime) -> int:
        """Delete evaluations created before `cutoff` with their votes, review items and
        decisions; returns how many evaluations went."""
        old = select(EvaluationRow.id).where(col(EvaluationRow.created_at) < cutoff)
        items = select(ReviewItemRow.id).where(col(ReviewItemRow.evaluation_id).in_(old))
        await self.session.exec(
            delete(ReviewDecisionRow).where(col(ReviewDecisionRow.review_item_id).in_(items))
        )
        await self.session.exec(
            delete(ReviewItemRow).where(col(ReviewItemRow.evaluation_id).in_(old))
        )
        await self.session.exec(delete(VoteRow).where(col(VoteRow.evaluation_id).in_(old)))
        result = await self.session.exec(
            delete(EvaluationRow).where(col(EvaluationRow.created_at) < cutoff)
        )
        # Assessments too: their criteria are evaluations, stored right after them.
        await self.session.exec(delete(AssessmentRow).where(col(AssessmentRow.created_at) < cutoff))
        return int(result.rowcount)
