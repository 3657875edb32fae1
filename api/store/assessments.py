"""Queries over assessments and the evaluations of their criteria."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.store.tables import AssessmentRow, EvaluationRow, utcnow

ASSESSMENTS: Table = AssessmentRow.__table__  # type: ignore[attr-defined]


class AssessmentRepository:
    """Assessment persistence over one session (the caller owns the transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: AssessmentRow) -> None:
        self.session.add(row)

    async def get(self, assessment_id: str) -> AssessmentRow | None:
        return await self.session.get(AssessmentRow, assessment_id)

    async def by_idempotency_key(self, key: str, tenant: str | None = None) -> AssessmentRow | None:
        result = await self.session.exec(
            select(AssessmentRow).where(
                AssessmentRow.idempotency_key == key,
                AssessmentRow.idempotency_tenant == (tenant or ""),
            )
        )
        return result.first()

    async def evaluations(self, assessment_id: str) -> Sequence[EvaluationRow]:
        result = await self.session.exec(
            select(EvaluationRow).where(EvaluationRow.assessment_id == assessment_id)
        )
        return result.all()

    async def mark(self, assessment_id: str, column: str) -> bool:
        """Set `completed_at` or `decided_at` to now, once: False if it was already set
        (by another worker, or an earlier verdict)."""
        if column not in ("completed_at", "decided_at"):
            raise ValueError(f"no such assessment timestamp {column!r}")
        result = await self.session.exec(
            update(ASSESSMENTS)
            .where(ASSESSMENTS.c.id == assessment_id, ASSESSMENTS.c[column].is_(None))
            .values({column: utcnow()})
        )
        return bool(result.rowcount)
