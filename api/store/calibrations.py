"""Queries over calibrations and the human-reviewed evaluations they are fitted on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.store.tables import CalibrationRow, EvaluationRow, ReviewItemRow


class CalibrationRepository:
    """Calibration persistence over one session (the caller owns the transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def newest_applied(self) -> Sequence[CalibrationRow]:
        """The newest applied calibration of every panel."""
        latest = (
            select(CalibrationRow.panel, func.max(CalibrationRow.version).label("v"))
            .where(col(CalibrationRow.applied))
            .group_by(CalibrationRow.panel)
            .subquery()
        )
        return (
            await self.session.exec(
                select(CalibrationRow).join(
                    latest,
                    (col(CalibrationRow.panel) == latest.c.panel)
                    & (col(CalibrationRow.version) == latest.c.v),
                )
            )
        ).all()

    async def reviewed(self, panel: str) -> Sequence[tuple[EvaluationRow, Any]]:
        """The panel's evaluations with a human verdict and a panel confidence, each with
        its review item's routing reasons."""
        rows = await self.session.exec(
            select(EvaluationRow, ReviewItemRow.reasons)
            .join(ReviewItemRow, col(ReviewItemRow.evaluation_id) == col(EvaluationRow.id))
            .where(
                col(EvaluationRow.panel) == panel,
                col(EvaluationRow.verdict_source) == "human",
                col(EvaluationRow.confidence).is_not(None),
            )
        )
        return [(e, reasons) for e, reasons in rows.all()]

    async def latest_version(self, panel: str) -> int:
        found = (
            await self.session.exec(
                select(func.max(CalibrationRow.version)).where(col(CalibrationRow.panel) == panel)
            )
        ).one()
        return int(found or 0)

    async def add(self, row: CalibrationRow) -> None:
        self.session.add(row)

    async def history(self, panel: str) -> list[CalibrationRow]:
        """Every calibration of the panel, newest first."""
        rows = await self.session.exec(
            select(CalibrationRow)
            .where(col(CalibrationRow.panel) == panel)
            .order_by(col(CalibrationRow.version).desc())
        )
        return list(rows.all())
