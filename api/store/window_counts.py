"""Per-hour counts of concluded evaluations by vote pattern, kept exact as rows change.

`window_counts` holds, per (panel, rubric, hour of `created_at`, pattern key), how many
concluded evaluations had that pattern (`api.services.window_keys`). Each evaluation row
records the key it is counted under (`evaluations.window_key`); a change moves one count
from the row's old key to its new one with a conditional UPDATE of that column (`IS NOT
DISTINCT FROM` the old key), so a change applied twice, or by two writers at once, is
counted once. A window's patterns are the whole hours' counts plus, for the hour the
window starts in, a GROUP BY over the evaluations themselves: exact for any window.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, Text, bindparam, case, cast, func, update
from sqlalchemy import select as core_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import Delete, Insert, Update
from sqlmodel import Session, col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.store.tables import EvaluationRow, VoteRow, WindowCountRow

BUCKET_S = 3600
"""Width of a count bucket: one hour of `created_at`."""
COUNTS: Table = WindowCountRow.__table__  # type: ignore[attr-defined]
EVALUATIONS: Table = EvaluationRow.__table__  # type: ignore[attr-defined]
VOTES: Table = VoteRow.__table__  # type: ignore[attr-defined]

RECOUNT_ATTEMPTS = 5
Cell = tuple[str, str, int, str]
"""(panel, rubric id, bucket, key): one count."""


def bucket_of(at: datetime) -> int:
    """The bucket (hours since the epoch, UTC) of a timestamp; naive means UTC."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return int(at.timestamp() // BUCKET_S)


def bucket_start(bucket: int) -> datetime:
    return datetime.fromtimestamp(bucket * BUCKET_S, tz=UTC)


def _build_upsert(module: Any) -> Insert:
    stmt = module.insert(COUNTS)
    return stmt.on_conflict_do_update(
        index_elements=("panel", "rubric_id", "bucket", "key"),
        set_={"n": COUNTS.c.n + stmt.excluded.n},
    )


_UPSERTS: dict[str, Insert] = {
    "postgresql": _build_upsert(postgresql),
    "sqlite": _build_upsert(sqlite),
}


def _upsert(dialect: str) -> Insert:
    """INSERT a count, or add to it: executed with many parameter sets at once (built
    once per dialect: the statement's construction cost more than its execution)."""
    return _UPSERTS["postgresql" if dialect == "postgresql" else "sqlite"]


def _cell_where() -> tuple[Any, ...]:
    return (
        COUNTS.c.panel == bindparam("c_panel"),
        COUNTS.c.rubric_id == bindparam("c_rubric"),
        COUNTS.c.bucket == bindparam("c_bucket"),
        COUNTS.c.key == bindparam("c_key"),
    )


_DECREMENT = update(COUNTS).where(*_cell_where()).values(n=COUNTS.c.n + bindparam("c_n"))
_DROP_EMPTY = delete(COUNTS).where(*_cell_where(), COUNTS.c.n <= 0)


def _delta_statements(
    dialect: str, deltas: Counter[Cell]
) -> list[tuple[Insert | Update | Delete, list[dict[str, Any]]]]:
    """(statement, parameter sets) that add `deltas` to the counts: rows created as
    needed, rows brought to zero removed."""
    ups = [
        {"panel": p, "rubric_id": r, "bucket": b, "key": k, "n": n}
        for (p, r, b, k), n in sorted(deltas.items())
        if n > 0
    ]
    downs = [
        {"c_panel": p, "c_rubric": r, "c_bucket": b, "c_key": k, "c_n": n}
        for (p, r, b, k), n in sorted(deltas.items())
        if n < 0
    ]
    out: list[tuple[Insert | Update | Delete, list[dict[str, Any]]]] = []
    if ups:
        out.append((_upsert(dialect), ups))
    if downs:
        out.append((_DECREMENT, downs))
        out.append((_DROP_EMPTY, [{k: v for k, v in d.items() if k != "c_n"} for d in downs]))
    return out


def _claim(evaluation_id: str, old: str | None, new: str | None) -> Update:
    """Set the row's counted key to `new` if it still is `old` (rowcount 1: ours to count)."""
    return (
        update(EVALUATIONS)
        .where(
            EVALUATIONS.c.id == evaluation_id,
            EVALUATIONS.c.window_key.is_not_distinct_from(old),
        )
        .values(window_key=new)
    )


def move(cell_of: tuple[str, str, datetime], old: str | None, new: str | None) -> Counter[Cell]:
    """The count deltas of one evaluation moving from key `old` to key `new`."""
    panel, rubric_id, created_at = cell_of
    bucket = bucket_of(created_at)
    deltas: Counter[Cell] = Counter()
    if old is not None:
        deltas[(panel, rubric_id, bucket, old)] -= 1
    if new is not None:
        deltas[(panel, rubric_id, bucket, new)] += 1
    return deltas


class WindowCountsRepository:
    """Count updates inside the caller's transaction (async: the request path)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, deltas: Counter[Cell]) -> None:
        conn = await self.session.connection()
        for stmt, params in _delta_statements(conn.dialect.name, deltas):
            await conn.execute(stmt, params)

    async def recount(
        self,
        evaluation_id: str,
        cell_of: tuple[str, str, datetime],
        old: str | None,
        new: str | None,
    ) -> bool:
        """Move the evaluation from key `old` (the counted key as last read) to `new`;
        False when it already is counted under `new` (applied before: nothing to do)."""
        conn = await self.session.connection()
        for _ in range(RECOUNT_ATTEMPTS):
            if old == new:
                return False
            if (await conn.execute(_claim(evaluation_id, old, new))).rowcount:
                await self.add(move(cell_of, old, new))
                return True
            # Another writer (the backfill, say) counted the row meanwhile: move it from
            # the key it holds now (read after that writer committed).
            old = (
                await conn.execute(
                    core_select(EVALUATIONS.c.window_key).where(EVALUATIONS.c.id == evaluation_id)
                )
            ).scalar_one_or_none()
        raise RuntimeError(f"evaluation {evaluation_id}: its window key kept changing")

    async def forget(self, ids: Sequence[str]) -> None:
        """Take these evaluations out of the counts (before they are deleted)."""
        if not ids:
            return
        conn = await self.session.connection()
        rows = (
            await conn.execute(
                core_select(
                    EVALUATIONS.c.panel,
                    EVALUATIONS.c.rubric_id,
                    EVALUATIONS.c.created_at,
                    EVALUATIONS.c.window_key,
                ).where(EVALUATIONS.c.id.in_(ids), EVALUATIONS.c.window_key.is_not(None))
            )
        ).all()
        deltas: Counter[Cell] = Counter()
        for panel, rubric_id, created_at, key in rows:
            deltas.update(move((panel, rubric_id, created_at), key, None))
        await self.add(deltas)


class WindowCountsReader:
    """Reads and the start-up backfill over one synchronous session (stats thread)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def patterns(self, panel: str, rubric_id: str, since: datetime) -> dict[str, int]:
        """How many concluded evaluations of the panel and rubric created at or after
        `since` had each pattern key: whole buckets from the counts, the part of the
        bucket `since` falls in from the evaluations."""
        first = bucket_of(since)
        edge = self.session.exec(
            select(EvaluationRow.window_key, func.count())
            .where(
                EvaluationRow.panel == panel,
                EvaluationRow.rubric_id == rubric_id,
                col(EvaluationRow.created_at) >= since,
                col(EvaluationRow.created_at) < bucket_start(first + 1),
                col(EvaluationRow.window_key).is_not(None),
            )
            .group_by(col(EvaluationRow.window_key))
        ).all()
        whole = self.session.exec(
            select(WindowCountRow.key, func.sum(WindowCountRow.n))
            .where(
                WindowCountRow.panel == panel,
                WindowCountRow.rubric_id == rubric_id,
                col(WindowCountRow.bucket) > first,
            )
            .group_by(col(WindowCountRow.key))
        ).all()
        out: Counter[str] = Counter()
        for key, n in [*edge, *whole]:
            if key is not None:
                out[key] += int(n)
        return {k: n for k, n in out.items() if n > 0}

    def uncounted(
        self, statuses: Iterable[str], after: str, limit: int
    ) -> list[tuple[str, str, str, datetime, str, Any, Any, Any]]:
        """Evaluations in `statuses` with no counted key, id after `after` (keyset
        pages), as (id, panel, rubric id, created at, status, outcome JSON text,
        verdict JSON text, verdict source)."""
        e = EVALUATIONS.c
        rows = (
            self.session.connection()
            .execute(
                core_select(
                    e.id,
                    e.panel,
                    e.rubric_id,
                    e.created_at,
                    e.status,
                    cast(e.outcome, Text),
                    cast(e.verdict_value, Text),
                    e.verdict_source,
                )
                .where(e.status.in_(tuple(statuses)), e.window_key.is_(None), e.id > after)
                .order_by(e.id)
                .limit(limit)
            )
            .all()
        )
        return [tuple(r) for r in rows]

    def calls(self, ids: Sequence[str]) -> dict[str, list[tuple[str, Any, Any, int]]]:
        """Per evaluation: (judge, unscored?, error?, how many) over its stored votes."""
        v = VOTES.c
        unscored = case((v.unscored.is_not(None), "u"), else_=None)
        error = case((v.error.is_not(None), "e"), else_=None)
        rows = (
            self.session.connection()
            .execute(
                core_select(v.evaluation_id, v.judge, unscored, error, func.count())
                .where(v.evaluation_id.in_(list(ids)))
                .group_by(v.evaluation_id, v.judge, unscored, error)
            )
            .all()
        )
        out: dict[str, list[tuple[str, Any, Any, int]]] = {}
        for evaluation_id, judge, u, e, n in rows:
            out.setdefault(evaluation_id, []).append((judge, u, e, int(n)))
        return out

    def count(self, keyed: Sequence[tuple[str, tuple[str, str, datetime], str]]) -> int:
        """Count uncounted evaluations under their keys: (id, (panel, rubric, created at),
        key). Rows counted meanwhile by another writer are skipped (one conditional
        UPDATE ... RETURNING per key says which rows are ours). Returns how many."""
        conn: Connection = self.session.connection()
        by_key: dict[str, dict[str, tuple[str, str, datetime]]] = {}
        for evaluation_id, cell_of, key in keyed:
            by_key.setdefault(key, {})[evaluation_id] = cell_of
        deltas: Counter[Cell] = Counter()
        done = 0
        for key, cells in sorted(by_key.items()):
            claimed = conn.execute(
                update(EVALUATIONS)
                .where(EVALUATIONS.c.id.in_(list(cells)), EVALUATIONS.c.window_key.is_(None))
                .values(window_key=key)
                .returning(EVALUATIONS.c.id)
            ).all()
            for (evaluation_id,) in claimed:
                deltas.update(move(cells[evaluation_id], None, key))
                done += 1
        for stmt, params in _delta_statements(conn.dialect.name, deltas):
            conn.execute(stmt, params)
        return done
