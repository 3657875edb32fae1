"""Queries of the jury model: its stored versions, and its training data read in pages.

Training reads are synchronous (the fit runs in a worker thread, like the window
statistics). Every human-labelled evaluation is read; unlabelled ones only the newest
`limit`: a refit over a panel with millions of stored evaluations reads a bounded sample
that always keeps every human verdict (docs/statistics.md, "Refit cost")."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.store.tables import EvaluationRow, JuryModelRow, VoteRow

VoteCells = tuple[str, str | None, bool, Any, dict[str, float] | None]
"""A usable stored vote as the jury reads it: (judge, order, reversed scale, value,
distribution or None)."""
CONCLUDED = ("decided", "in_review")
PAGE = 2_000


class JuryRepository:
    """Stored jury models over one async session (the caller owns the transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def newest(self) -> Sequence[JuryModelRow]:
        """The newest version of every panel's model."""
        latest = (
            select(JuryModelRow.panel, func.max(JuryModelRow.version).label("v"))
            .group_by(JuryModelRow.panel)
            .subquery()
        )
        return (
            await self.session.exec(
                select(JuryModelRow).join(
                    latest,
                    (col(JuryModelRow.panel) == latest.c.panel)
                    & (col(JuryModelRow.version) == latest.c.v),
                )
            )
        ).all()

    async def history(self, panel: str, limit: int = 20) -> list[JuryModelRow]:
        rows = await self.session.exec(
            select(JuryModelRow)
            .where(col(JuryModelRow.panel) == panel)
            .order_by(col(JuryModelRow.version).desc())
            .limit(limit)
        )
        return list(rows.all())

    async def add(self, row: JuryModelRow) -> None:
        self.session.add(row)


class JuryTrainingReader:
    """The training data of one panel and rubric, over one synchronous session."""

    def __init__(self, session: Session, panel: str, rubric_id: str) -> None:
        self.session = session
        self.panel = panel
        self.rubric_id = rubric_id

    def _base(self) -> Any:
        return select(
            EvaluationRow.id, EvaluationRow.verdict_source, EvaluationRow.verdict_value
        ).where(
            col(EvaluationRow.panel) == self.panel,
            col(EvaluationRow.rubric_id) == self.rubric_id,
            col(EvaluationRow.status).in_(CONCLUDED),
        )

    def latest_version(self) -> int:
        found = self.session.exec(
            select(func.max(JuryModelRow.version)).where(col(JuryModelRow.panel) == self.panel)
        ).one()
        return int(found or 0)

    def items(self, max_unlabelled: int) -> Iterator[tuple[str, Any, list[VoteCells]]]:
        """(evaluation id, human verdict or None, votes) for every human-labelled
        evaluation and the newest `max_unlabelled` others, a page at a time."""
        labelled = self._base().where(col(EvaluationRow.verdict_source) == "human")
        unlabelled = (
            self._base()
            .where(col(EvaluationRow.verdict_source) != "human")
            .order_by(col(EvaluationRow.created_at).desc())
            .limit(max_unlabelled)
        )
        for query in (labelled, unlabelled):
            page: list[tuple[str, Any]] = []
            for ev_id, source, value in self.session.exec(query):
                page.append((ev_id, value if source == "human" else None))
                if len(page) >= PAGE:
                    yield from self._with_votes(page)
                    page = []
            if page:
                yield from self._with_votes(page)

    def _with_votes(
        self, page: list[tuple[str, Any]]
    ) -> Iterator[tuple[str, Any, list[VoteCells]]]:
        votes: dict[str, list[VoteCells]] = {}
        ids = [ev_id for ev_id, _ in page]
        # Plain columns, JSON as text: building a SQLModel row per vote costs several
        # times what the fit itself does on a large panel. A CAST, not a type_coerce:
        # SQLite hands a JSON number (a vote 4 on a 1-5 scale) back as a number and
        # psycopg decodes a json column itself; CAST(... AS TEXT) is the JSON text on both.
        usable = (
            col(VoteRow.evaluation_id).in_(ids),
            col(VoteRow.unscored).is_(None),
            col(VoteRow.error).is_(None),
        )
        for ev_id, judge, order, rev, value, dist in self.session.execute(
            sa_select(
                col(VoteRow.evaluation_id),
                col(VoteRow.judge),
                col(VoteRow.order),
                col(VoteRow.reversed_scale),
                cast(VoteRow.value, Text),
                cast(VoteRow.distribution, Text),
            )
            .where(*usable)
            .order_by(col(VoteRow.id))
        ):
            votes.setdefault(ev_id, []).append(
                (judge, order, bool(rev), json.loads(value), json.loads(dist) if dist else None)
            )
        for ev_id, label in page:
            yield ev_id, label, votes.get(ev_id, [])

    def labelled(self) -> int:
        """Concluded evaluations of the panel and rubric with a human verdict: how many
        labels a refit now would clamp."""
        found = self.session.exec(
            select(func.count())
            .select_from(EvaluationRow)
            .where(
                col(EvaluationRow.panel) == self.panel,
                col(EvaluationRow.rubric_id) == self.rubric_id,
                col(EvaluationRow.status).in_(CONCLUDED),
                col(EvaluationRow.verdict_source) == "human",
            )
        ).one()
        return int(found)

    def concluded_since(self, since: datetime) -> int:
        found = self.session.exec(
            select(func.count())
            .select_from(EvaluationRow)
            .where(
                col(EvaluationRow.panel) == self.panel,
                col(EvaluationRow.status).in_(CONCLUDED),
                col(EvaluationRow.updated_at) > since,
            )
        ).one()
        return int(found)
