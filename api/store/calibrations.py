"""Queries over calibrations and the human-reviewed evaluations they are fitted on.

Versions: each panel's calibrations are numbered 1, 2, 3..., one row per number (the
unique index `uq_calibrations_panel_version`, migration 0018). Two writers of one panel
(two `quorum calibrate --apply` at once, or two replicas) are kept apart by a lock that
`latest_version` takes before it reads the newest number and that is held until the
writer's transaction ends: the second waits, then reads the first's version and writes
the next. PostgreSQL: a transaction-scoped advisory lock per panel; SQLite: the
database's one write lock, taken by a write that changes nothing. A writer that takes no
lock (a Quorum from before it, during a rolling upgrade) meets the unique index instead:
an IntegrityError when its row is flushed, never a second row of a version.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.store.tables import CalibrationRow, EvaluationRow, ReviewItemRow

VERSION_LOCK = 0x7163616C  # "qcal"
"""The first key of the PostgreSQL advisory lock on a panel's versions (the second is the
panel's); two-key advisory locks do not share their key space with the audit chain's."""
LOCK_PG = text("SELECT pg_advisory_xact_lock(:space, :panel)")
LOCK_SQLITE = text("UPDATE calibrations SET version = version WHERE version < 0")


def _panel_key(panel: str) -> int:
    """The panel's advisory-lock key: a signed 32-bit hash of its name."""
    return zlib.crc32(panel.encode()) - 2**31


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
        """The panel's newest version (0: none yet), read under the panel's version lock,
        which is held until the transaction ends: call it in the transaction that stores
        the next version, just before building that row (see the module docstring)."""
        conn = await self.session.connection()
        if conn.dialect.name == "postgresql":
            await conn.execute(LOCK_PG, {"space": VERSION_LOCK, "panel": _panel_key(panel)})
        else:
            await conn.execute(LOCK_SQLITE)
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
