"""Queries of the audit trail: evaluations page by page with everything recorded about
them, the event log in order, and deletion past retention. `quorum audit verify` reads
every stored record as it is stored, through `api.store.stored_rows`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, or_, tuple_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.store.reach import EVERYTHING, Reach
from api.store.tables import (
    ApiKeyRow,
    AssessmentRow,
    AuditEventRow,
    EvaluationRow,
    ReviewDecisionRow,
    ReviewItemRow,
    VoteRow,
)
from api.store.window_counts import WindowCountsRepository


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
        reach: Reach = EVERYTHING,
        *,
        subject_model: str | None = None,
        use_case: str | None = None,
    ) -> list[EvaluationRow]:
        """Evaluations that `reach` sees, created in [since, until) or with an audit event in
        it (a late human decision on an old item), ordered by (created_at, id), the next
        `limit` after the key `after` (keyset pagination); only those of `subject_model`
        and `use_case` when given."""
        touched = select(AuditEventRow.evaluation_id).where(
            col(AuditEventRow.at) >= since,
            col(AuditEventRow.at) < until,
            col(AuditEventRow.evaluation_id).is_not(None),
        )
        q = select(EvaluationRow).where(
            or_(
                (col(EvaluationRow.created_at) >= since) & (col(EvaluationRow.created_at) < until),
                col(EvaluationRow.id).in_(touched),
            ),
            *reach.where(EvaluationRow.tenant, EvaluationRow.panel),
        )
        if panel is not None:
            q = q.where(col(EvaluationRow.panel) == panel)
        if subject_model is not None:
            q = q.where(col(EvaluationRow.subject_model) == subject_model)
        if use_case is not None:
            q = q.where(col(EvaluationRow.use_case) == use_case)
        if after is not None:
            q = q.where(
                tuple_(col(EvaluationRow.created_at), col(EvaluationRow.id)) > tuple_(*after)
            )
        order = q.order_by(col(EvaluationRow.created_at), col(EvaluationRow.id)).limit(limit)
        return list((await self.session.exec(order)).all())

    async def distinct(self, column: str) -> list[str]:
        """The values an evaluation column (panel, subject_model, use_case) holds, sorted."""
        c = col(getattr(EvaluationRow, column))
        rows = await self.session.exec(select(c).where(c.is_not(None)).distinct())
        return sorted(str(v) for v in rows.all())

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
        """Decisions by evaluation id."""
        decisions: dict[str, list[ReviewDecisionRow]] = {}
        q = (
            select(ReviewDecisionRow)
            .where(col(ReviewDecisionRow.evaluation_id).in_(ids))
            .order_by(col(ReviewDecisionRow.id))
        )
        for d in (await self.session.exec(q)).all():
            decisions.setdefault(d.evaluation_id, []).append(d)
        return decisions

    async def key_names(self, ids: Sequence[str]) -> dict[str, str]:
        q = select(ApiKeyRow.id, ApiKeyRow.name).where(col(ApiKeyRow.id).in_(ids))
        return {i: n for i, n in (await self.session.exec(q)).all()}

    async def decided_events(self, ids: Sequence[str]) -> list[AuditEventRow]:
        """The `decided` events of these evaluations' review items, in order."""
        q = (
            select(AuditEventRow)
            .where(
                col(AuditEventRow.evaluation_id).in_(ids),
                col(AuditEventRow.event) == "decided",
            )
            .order_by(col(AuditEventRow.seq))
        )
        return list((await self.session.exec(q)).all())

    async def events(
        self,
        after_seq: int,
        limit: int,
        since: datetime | None = None,
        until: datetime | None = None,
        panel: str | None = None,
    ) -> list[AuditEventRow]:
        """Events in chain order after `after_seq`, optionally those in [since, until)
        and of one panel."""
        q = select(AuditEventRow).where(col(AuditEventRow.seq) > after_seq)
        if since is not None:
            q = q.where(col(AuditEventRow.at) >= since)
        if until is not None:
            q = q.where(col(AuditEventRow.at) < until)
        if panel is not None:
            q = q.where(col(AuditEventRow.panel) == panel)
        q = q.order_by(col(AuditEventRow.seq)).limit(limit)
        return list((await self.session.exec(q)).all())

    async def older_than(self, cutoff: datetime, limit: int) -> list[EvaluationRow]:
        q = (
            select(EvaluationRow)
            .where(col(EvaluationRow.created_at) < cutoff)
            .order_by(col(EvaluationRow.id))
            .limit(limit)
        )
        return list((await self.session.exec(q)).all())

    async def delete_evaluations(self, ids: Sequence[str]) -> int:
        """Delete these evaluations with their votes, review items and decisions (and
        their place in the window counts)."""
        await WindowCountsRepository(self.session).forget(ids)
        items = select(ReviewItemRow.id).where(col(ReviewItemRow.evaluation_id).in_(ids))
        await self.session.exec(
            delete(ReviewDecisionRow).where(col(ReviewDecisionRow.review_item_id).in_(items))
        )
        await self.session.exec(
            delete(ReviewItemRow).where(col(ReviewItemRow.evaluation_id).in_(ids))
        )
        await self.session.exec(delete(VoteRow).where(col(VoteRow.evaluation_id).in_(ids)))
        # Assessments go with their criteria (evaluations stored right after them).
        assessed = select(EvaluationRow.assessment_id).where(
            col(EvaluationRow.id).in_(ids), col(EvaluationRow.assessment_id).is_not(None)
        )
        await self.session.exec(delete(AssessmentRow).where(col(AssessmentRow.id).in_(assessed)))
        result = await self.session.exec(
            delete(EvaluationRow).where(col(EvaluationRow.id).in_(ids))
        )
        return int(result.rowcount)
