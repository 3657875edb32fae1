"""Queries over a time window of a panel's concluded evaluations, for the statistics.

Synchronous: the window statistics run in a worker thread (`api.services.stats`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Text, case, cast, func
from sqlmodel import Session, col, select

from api.store.tables import EvaluationRow, VoteRow


class WindowRepository:
    """Reads over one synchronous session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def concluded(
        self, panel: str, rubric_id: str, since: datetime, limit: int
    ) -> list[tuple[Any, Any, Any, datetime]]:
        """The newest `limit` concluded evaluations since `since`, newest first, as
        (outcome JSON text, verdict value JSON text, verdict source, created at)."""
        return [
            (r[0], r[1], r[2], r[3])
            for r in self.session.exec(
                # Raw JSON text: decoding 100k documents through the ORM's type layer costs
                # several times what json.loads does (stats.code_matrix decodes). A CAST,
                # not a type_coerce: psycopg decodes a json column itself (a verdict "A"
                # came back as the bare string A), and SQLite hands JSON numbers back as
                # numbers; CAST(... AS TEXT) is the JSON text on both.
                select(
                    cast(EvaluationRow.outcome, Text),
                    cast(EvaluationRow.verdict_value, Text),
                    EvaluationRow.verdict_source,
                    EvaluationRow.created_at,
                )
                .where(
                    EvaluationRow.panel == panel,
                    EvaluationRow.rubric_id == rubric_id,
                    col(EvaluationRow.created_at) >= since,
                    col(EvaluationRow.status).in_(("decided", "in_review")),
                )
                .order_by(col(EvaluationRow.created_at).desc())
                .limit(limit)
            ).all()
        ]

    def vote_outcomes(self, panel: str, since: datetime) -> list[tuple[str, str, int]]:
        """(judge, ok | unscored | error, count) over the panel's votes since `since`: the
        item-level reference of the call counts, which `/agreement` now sums from the
        window counts (`api.store.window_counts`); kept for checks and tests."""
        outcome = case(
            (col(VoteRow.error).is_not(None), "error"),
            (col(VoteRow.unscored).is_not(None), "unscored"),
            else_="ok",
        )
        rows = self.session.exec(
            select(VoteRow.judge, outcome, func.count())
            .join(EvaluationRow, col(EvaluationRow.id) == col(VoteRow.evaluation_id))
            .where(EvaluationRow.panel == panel, col(EvaluationRow.created_at) >= since)
            .group_by(VoteRow.judge, outcome)
        ).all()
        return [(j, k, int(n)) for j, k, n in rows]
