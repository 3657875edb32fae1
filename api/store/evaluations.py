"""Queries over evaluations, votes and review items. Services call these; routes do not.

Writes to evaluations and votes (an evaluation inserted, its lease moved, it concluded,
its votes inserted) run as Core statements on the tables: the ORM's unit of work
(identity map, flush, session synchronisation of UPDATEs) cost twice the CPU on the hot
path, for rows this process never reads back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Table, bindparam, func, insert, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.store.reach import Reach
from api.store.tables import EvaluationRow, ReviewItemRow, VoteRow, utcnow

EVALUATIONS: Table = EvaluationRow.__table__  # type: ignore[attr-defined]
VOTES: Table = VoteRow.__table__  # type: ignore[attr-defined]

CONCLUDE = update(EVALUATIONS).where(
    EVALUATIONS.c.id == bindparam("c_evaluation_id"),
    EVALUATIONS.c.status == "pending",
    EVALUATIONS.c.runs == func.coalesce(bindparam("c_run", type_=Integer), EVALUATIONS.c.runs),
)
"""Conclude a pending evaluation in the run that holds it: built once, its SET clause
from the parameters given. The run is the fence: a worker whose lease another replica
took over (`take_lease` counts a run) concludes nothing."""


class EvaluationRepository:
    """Evaluation persistence over one session (the caller owns the transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert(self, row: EvaluationRow) -> None:
        """Insert a new evaluation. `row` stays transient (not in the session): nothing is
        read back, and adding it to a session later would insert it again."""
        conn = await self.session.connection()
        await conn.execute(insert(EVALUATIONS), [row.model_dump()])

    async def insert_votes(self, votes: Sequence[dict[str, Any]]) -> None:
        """Insert an evaluation's votes (each row's columns but the id) in one statement;
        ids are assigned in order."""
        if votes:
            conn = await self.session.connection()
            await conn.execute(insert(VOTES), list(votes))

    async def get(self, evaluation_id: str) -> EvaluationRow | None:
        return await self.session.get(EvaluationRow, evaluation_id)

    async def by_idempotency_key(self, key: str, tenant: str | None) -> EvaluationRow | None:
        """The evaluation `tenant` stored under `key` (keys are unique per tenant; rows of
        no tenant share one namespace)."""
        result = await self.session.exec(
            select(EvaluationRow).where(
                EvaluationRow.idempotency_key == key,
                EvaluationRow.idempotency_tenant == (tenant or ""),
            )
        )
        return result.first()

    async def votes(self, evaluation_id: str) -> Sequence[VoteRow]:
        result = await self.session.exec(
            select(VoteRow).where(VoteRow.evaluation_id == evaluation_id).order_by(col(VoteRow.id))
        )
        return result.all()

    async def review_item(self, evaluation_id: str) -> ReviewItemRow | None:
        result = await self.session.exec(
            select(ReviewItemRow).where(ReviewItemRow.evaluation_id == evaluation_id)
        )
        return result.first()

    async def page(
        self,
        reach: Reach,
        *,
        panel: str | None = None,
        status: str | None = None,
        subject_model: str | None = None,
        use_case: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[EvaluationRow], int]:
        """Evaluations that `reach` sees matching every filter given, newest first: one
        page of them and how many match in all. Filters only narrow what `reach` sees."""
        conditions = [*reach.where(EvaluationRow.tenant, EvaluationRow.panel)]
        for column, value in (
            (EvaluationRow.panel, panel),
            (EvaluationRow.status, status),
            (EvaluationRow.subject_model, subject_model),
            (EvaluationRow.use_case, use_case),
        ):
            if value is not None:
                conditions.append(col(column) == value)
        if since is not None:
            conditions.append(col(EvaluationRow.created_at) >= since)
        if until is not None:
            conditions.append(col(EvaluationRow.created_at) < until)
        total = await self.session.exec(
            select(func.count()).select_from(EvaluationRow).where(*conditions)
        )
        rows = await self.session.exec(
            select(EvaluationRow)
            .where(*conditions)
            .order_by(col(EvaluationRow.created_at).desc(), col(EvaluationRow.id).desc())
            .offset(offset)
            .limit(limit)
        )
        return list(rows.all()), int(total.one())

    async def votes_of(self, evaluation_ids: Sequence[str]) -> Sequence[VoteRow]:
        """The votes of several evaluations, in the order they were stored."""
        if not evaluation_ids:
            return []
        result = await self.session.exec(
            select(VoteRow)
            .where(col(VoteRow.evaluation_id).in_(evaluation_ids))
            .order_by(col(VoteRow.id))
        )
        return result.all()

    async def review_items_of(self, evaluation_ids: Sequence[str]) -> Sequence[ReviewItemRow]:
        if not evaluation_ids:
            return []
        result = await self.session.exec(
            select(ReviewItemRow).where(col(ReviewItemRow.evaluation_id).in_(evaluation_ids))
        )
        return result.all()

    async def stale_pending(self, now: datetime, limit: int = 100) -> Sequence[EvaluationRow]:
        """Pending evaluations whose worker's lease has run out (it crashed or was killed)."""
        result = await self.session.exec(
            select(EvaluationRow)
            .where(EvaluationRow.status == "pending", col(EvaluationRow.lease_until) < now)
            .order_by(col(EvaluationRow.created_at))
            .limit(limit)
        )
        return result.all()

    async def conclude(
        self, evaluation_id: str, values: dict[str, Any], run: int | None = None
    ) -> bool:
        """Set a pending evaluation's outcome columns (`values`: completed or failed) if
        `run`, the caller's, still holds it (None: whichever run does; the services always
        fence); False, and nothing changed, if it is no longer pending (another worker
        concluded it) or another replica took it over since."""
        conn = await self.session.connection()
        params = {**values, "c_evaluation_id": evaluation_id, "c_run": run}
        result = await conn.execute(CONCLUDE, params)
        return bool(result.rowcount)

    async def renew_leases(self, ids: Sequence[str], until: datetime, *, run: int) -> int:
        """Move to `until` the leases of these pending evaluations that the caller holds
        in run `run`; one taken over by another replica since keeps the taker's lease."""
        if not ids:
            return 0
        result = await self.session.exec(
            update(EVALUATIONS)
            .where(
                EVALUATIONS.c.id.in_(ids),
                EVALUATIONS.c.status == "pending",
                EVALUATIONS.c.runs == run,
            )
            .values(lease_until=until)
        )
        return int(result.rowcount)

    async def take_lease(
        self, evaluation_id: str, seen: datetime | None, run: int, until: datetime
    ) -> bool:
        """Atomically move a stale pending evaluation's lease (as read: `seen`, in run
        `run`) to us, in run `run + 1` (the fence of `conclude` and `renew_leases`); False
        if someone else did."""
        result = await self.session.exec(
            update(EVALUATIONS)
            .where(
                EVALUATIONS.c.id == evaluation_id,
                EVALUATIONS.c.status == "pending",
                EVALUATIONS.c.lease_until == seen,
                EVALUATIONS.c.runs == run,
            )
            .values(lease_until=until, runs=EVALUATIONS.c.runs + 1, updated_at=utcnow())
        )
        return bool(result.rowcount)
