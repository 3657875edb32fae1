"""Reads of governance over evaluations: the stream of final verdicts with a subject (the
drift sweep) and the judged criteria of a profile or panel in a window (compliance)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Table, literal_column, text
from sqlalchemy import select as core_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.store.reach import Reach
from api.store.tables import DRIFT_UNREAD, AssessmentRow, EvaluationRow, UTCDateTime

EVALUATIONS: Table = EvaluationRow.__table__  # type: ignore[attr-defined]
ASSESSMENTS: Table = AssessmentRow.__table__  # type: ignore[attr-defined]
STREAM_COLUMNS = ("id", "tenant", "subject_model", "use_case", "panel")
STREAM_FROM = {
    "sqlite": text("evaluations INDEXED BY ix_evaluations_drift_unread"),
    "": text("evaluations"),
}
"""Where the stream reads from: SQLite's planner, without ANALYZE's statistics, would walk
every decided row by the status index rather than the partial index of the unread."""
MARK_CHUNK = 500
"""Ids per `UPDATE ... WHERE id IN (...)` (below SQLite's bound-parameter limit)."""
LOCK_SQLITE = text("UPDATE governance_cursor SET name = name WHERE name = :n")
"""A write that takes SQLite's write lock before the cursor is read (two replicas' sweeps
must not read the same verdicts)."""
LOCK_POSTGRES = text("SELECT pg_advisory_xact_lock(hashtext('quorum.governance.' || :n))")
"""A transaction-level advisory lock per cursor name: it holds whether or not the cursor
row exists yet (a row lock does not, on a new database), and is released at commit."""


@dataclass(frozen=True)
class StreamVerdict:
    """One final verdict with a subject, as the drift sweep reads it."""

    id: str
    tenant: str | None
    model: str
    use_case: str | None
    criterion: str
    compliant: bool
    updated_at: datetime


@dataclass(frozen=True)
class JudgedCriterion:
    """One criterion evaluation of the compliance window."""

    id: str
    assessment_id: str | None
    criterion: str
    model: str
    use_case: str | None
    status: str
    compliant: bool | None
    """The final verdict's compliance (None: not decided, n/a, or no compliance rule)."""
    source: str | None
    panel_compliant: bool | None
    """The panel's own verdict's compliance (before any human verdict)."""
    audit_draw: float
    created_at: datetime


class GovernanceReads:
    """Reads over one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_cursor(self, name: str) -> None:
        """Serialise sweeps until the transaction ends: PostgreSQL takes an advisory lock
        (the cursor row may not exist yet, so a row lock alone would not do); SQLite takes
        its write lock."""
        conn = await self.session.connection()
        if conn.dialect.name == "sqlite":
            await conn.execute(LOCK_SQLITE, {"n": name})
        elif conn.dialect.name == "postgresql":
            await conn.execute(LOCK_POSTGRES, {"n": name})

    async def stream(self, until: datetime, limit: int) -> list[StreamVerdict]:
        """Decided verdicts with a subject and a compliance that the drift sweep has not
        read, up to `until`, oldest first (`updated_at`, then id). A verdict whose
        transaction commits after a later-stamped one was read is still here: what has
        been read is marked on the row (`mark_read`), not inferred from a position."""
        conn = await self.session.connection()
        updated = literal_column("updated_at", UTCDateTime())
        columns: list[ColumnElement[Any]] = [literal_column(c) for c in STREAM_COLUMNS]
        columns += [literal_column("verdict_compliant", Boolean()), updated]
        query = (
            core_select(*columns)
            .select_from(STREAM_FROM.get(conn.dialect.name, STREAM_FROM[""]))
            .where(DRIFT_UNREAD, updated <= until)
            .order_by(updated, literal_column("id"))
            .limit(limit)
        )
        rows = await conn.execute(query)
        return [
            StreamVerdict(
                id=r[0],
                tenant=r[1],
                model=str(r[2]),
                use_case=r[3],
                criterion=r[4],
                compliant=bool(r[5]),
                updated_at=r[6],
            )
            for r in rows.all()
        ]

    async def mark_read(self, ids: Sequence[str]) -> None:
        """The drift sweep has read these verdicts (in the sweep's transaction)."""
        conn = await self.session.connection()
        e = EVALUATIONS.c
        for start in range(0, len(ids), MARK_CHUNK):
            chunk = list(ids[start : start + MARK_CHUNK])
            await conn.execute(EVALUATIONS.update().where(e.id.in_(chunk)).values(drift_read=True))

    async def judged(
        self,
        reach: Reach,
        since: datetime,
        *,
        profile: str | None = None,
        panels: Sequence[str] = (),
        model: str | None = None,
        use_case: str | None = None,
    ) -> list[JudgedCriterion]:
        """Evaluations with a subject created since `since` that `reach` sees: those of
        `profile`'s assessments, or (no profile) those on `panels`."""
        e = EVALUATIONS.c
        query: Any = core_select(
            e.id,
            e.assessment_id,
            e.panel,
            e.subject_model,
            e.use_case,
            e.status,
            e.verdict_compliant,
            e.verdict_source,
            e.outcome,
            e.audit_draw,
            e.created_at,
        ).where(e.subject_model.is_not(None), e.created_at >= since)
        if profile is not None:
            query = query.join(ASSESSMENTS, ASSESSMENTS.c.id == e.assessment_id).where(
                ASSESSMENTS.c.profile == profile
            )
        else:
            query = query.where(e.panel.in_(list(panels)))
        for condition in reach.where(e.tenant, e.panel):
            query = query.where(condition)
        if model is not None:
            query = query.where(e.subject_model == model)
        if use_case is not None:
            query = query.where(e.use_case == use_case)
        conn = await self.session.connection()
        rows = await conn.execute(query)
        out: list[JudgedCriterion] = []
        for r in rows.all():
            outcome = r[8] or {}
            panel_compliant = outcome.get("panel_compliant")
            out.append(
                JudgedCriterion(
                    id=r[0],
                    assessment_id=r[1],
                    criterion=r[2],
                    model=str(r[3]),
                    use_case=r[4],
                    status=r[5],
                    compliant=r[6] if r[5] == "decided" else None,
                    source=r[7],
                    panel_compliant=panel_compliant if isinstance(panel_compliant, bool) else None,
                    audit_draw=float(r[9]),
                    created_at=r[10],
                )
            )
        return out

    async def models(self, reach: Reach) -> list[str]:
        """Subject models named by the evaluations `reach` sees."""
        e = EvaluationRow
        query: Any = select(e.subject_model).where(col(e.subject_model).is_not(None)).distinct()
        for condition in reach.where(e.tenant, e.panel):
            query = query.where(condition)
        return sorted(str(m) for m in (await self.session.exec(query)).all())

    async def scoped_models(self, since: datetime) -> list[tuple[str, str]]:
        """(scope, subject model) of every tenant's evaluations created since `since` (""
        for no tenant)."""
        e = EvaluationRow
        query: Any = (
            select(e.tenant, e.subject_model)
            .where(col(e.subject_model).is_not(None), col(e.created_at) >= since)
            .distinct()
        )
        return [(t or "", str(m)) for t, m in (await self.session.exec(query)).all()]
