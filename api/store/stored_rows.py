"""Rows read as they are stored, for `quorum audit verify`: a row whose stored value its
column type cannot load (invalid JSON, a time that is not a time, a number that is not a
number, text that is not UTF-8: a row edited behind Quorum's back) is still read, with
what is wrong with it, instead of failing the whole query and the verification with it.

PostgreSQL checks every value against its column's type as it is written, so there the
rows are read as the ORM reads them. SQLite stores whatever it is given: there every
column is selected without SQLAlchemy's result processing (text as its bytes, so that
text that is not UTF-8 reaches Python instead of failing in the driver), then loaded here
value by value with the column type's own result processor, and checked against the
type (an integer column must hold an integer). A value that loads is the one the ORM
would have given, so digests of these rows equal digests of ORM rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    case,
    cast,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.types import NullType, TypeDecorator, TypeEngine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from api.store.tables import (
    ApiKeyRow,
    AuditEventRow,
    CalibrationRow,
    EvaluationRow,
    ModelTransitionRow,
    ModelZoneRow,
    ReviewDecisionRow,
    ReviewItemRow,
    VoteRow,
)
from rubrics.loader import printable

Loader = Callable[[Any], Any]


@dataclass(frozen=True)
class StoredRow:
    """One row: each column's value as the ORM loads it (None where it cannot be loaded),
    and what is wrong with each column that cannot."""

    table: str
    values: dict[str, Any]
    problems: tuple[str, ...]
    """One per unreadable column: "outcome holds '{bad': not valid JSON"."""
    key: Any
    """The stored value of the column the rows are paged by (`after` of the next page)."""

    def ident(self, column: str) -> str:
        """The row's `column` for a message (shown even when it is unreadable)."""
        value = self.values.get(column)
        if value is None and isinstance(self.key, bytes):
            return _printable(self.key)
        return str(value if value is not None else self.key)


def _table(model: type[SQLModel]) -> Table:
    return model.__table__  # type: ignore[attr-defined]


def _kind(type_: TypeEngine[Any]) -> str:
    """The kind of value a column type holds, as far as loading it is concerned."""
    impl = type_.impl_instance if isinstance(type_, TypeDecorator) else type_
    for cls, kind in (
        (JSON, "json"),
        (DateTime, "time"),
        (Boolean, "bool"),
        (Integer, "int"),
        (Float, "float"),
        (String, "text"),
    ):
        if isinstance(impl, cls):
            return kind
    return "other"


_WHY = {
    "json": "not valid JSON",
    "time": "not a valid time",
    "bool": "not a boolean",
    "int": "not an integer",
    "float": "not a number",
    "text": "not text",
    "other": "not a value of its column's type",
}


def _fits(kind: str, raw: Any, value: Any) -> bool:
    """Whether a loaded value is one of its column's type (`raw`: as SQLite gave it)."""
    if kind == "time":
        if not isinstance(value, datetime):
            return False
        value.astimezone(UTC)  # OverflowError at the ends of the calendar
        return True
    if kind == "bool":
        return isinstance(raw, int) and raw in (0, 1)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "text":
        return isinstance(value, str)
    return True


def _printable(raw: bytes) -> str:
    """Stored bytes as text for a message: what is not UTF-8 or not printable escaped."""
    return printable(raw.decode("utf-8", "backslashreplace"))


def _shown(raw: Any) -> str:
    """A stored value for a message, quoted, cut at 60 characters."""
    text = f"'{_printable(raw)}'" if isinstance(raw, bytes) else repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def _load(name: str, kind: str, loader: Loader | None, raw: Any) -> tuple[Any, str | None]:
    """A stored SQLite value loaded as the ORM would, or None and what is wrong with it."""
    if raw is None:
        return None, None
    value = raw
    try:
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                return None, f"{name} holds {_shown(raw)}: not UTF-8 text"
        if loader is not None:
            value = loader(value)
        if _fits(kind, raw, value):
            return value, None
    except Exception:  # whatever the type's loader raises on garbage: named, not raised
        pass
    return None, f"{name} holds {_shown(raw)}: {_WHY[kind]}"


class StoredRows:
    """Reads of every audited table for the verifier, over one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _rows(
        self,
        model: type[SQLModel],
        *where: ColumnElement[bool],
        order: str,
        limit: int | None = None,
        after: Any = None,
    ) -> list[StoredRow]:
        """The rows of `model`'s table matching `where`, in `order` (one column), the
        next `limit` after the stored key `after` (a row's `key`)."""
        table = _table(model)
        conn = await self.session.connection()
        dialect = conn.dialect
        key = table.c[order]
        conditions = list(where)
        if after is not None:
            # A key that is not UTF-8 comes back as bytes: compared as the text it is.
            bound = (
                cast(literal(after, LargeBinary()), Text()) if isinstance(after, bytes) else after
            )
            conditions.append(key > bound)
        if dialect.name != "sqlite":
            q = select(*table.c).where(*conditions).order_by(key).limit(limit)
            result = await conn.execute(q)
            return [
                StoredRow(table.name, dict(r._mapping), (), r._mapping[order]) for r in result.all()
            ]
        columns = [
            type_coerce(
                case((func.typeof(c) == "text", cast(c, LargeBinary())), else_=c), NullType()
            ).label(c.name)
            for c in table.c
        ]
        loaders = [
            (c.name, _kind(c.type), c.type.dialect_impl(dialect).result_processor(dialect, None))
            for c in table.c
        ]
        q = select(*columns).where(*conditions).order_by(key).limit(limit)
        out = []
        for raw in (await conn.execute(q)).all():
            values: dict[str, Any] = {}
            problems: list[str] = []
            stored: Any
            for (name, kind, loader), stored in zip(loaders, raw, strict=True):
                values[name], problem = _load(name, kind, loader, stored)
                if problem is not None:
                    problems.append(problem)
            out.append(StoredRow(table.name, values, tuple(problems), raw._mapping[order]))
        return out

    async def evaluations(self, after: Any, limit: int) -> list[StoredRow]:
        """Every evaluation, by id, the next `limit` after the key `after`."""
        return await self._rows(EvaluationRow, order="id", limit=limit, after=after)

    async def votes(self, ids: Sequence[str]) -> dict[str, list[StoredRow]]:
        """The votes of these evaluations, by evaluation id, in the order stored."""
        rows = await self._rows(VoteRow, _table(VoteRow).c.evaluation_id.in_(ids), order="id")
        votes: dict[str, list[StoredRow]] = {}
        for v in rows:
            votes.setdefault(v.values["evaluation_id"], []).append(v)
        return votes

    async def review_items(self, after: Any, limit: int) -> list[StoredRow]:
        return await self._rows(ReviewItemRow, order="id", limit=limit, after=after)

    async def decisions(self, ids: Sequence[str]) -> dict[str, list[StoredRow]]:
        """The decisions of these review items, by review item id, in the order stored."""
        items = _table(ReviewDecisionRow).c.review_item_id
        rows = await self._rows(ReviewDecisionRow, items.in_(ids), order="id")
        decisions: dict[str, list[StoredRow]] = {}
        for d in rows:
            decisions.setdefault(d.values["review_item_id"], []).append(d)
        return decisions

    async def keys(self) -> list[StoredRow]:
        return await self._rows(ApiKeyRow, order="id")

    async def calibrations(self) -> list[StoredRow]:
        return await self._rows(CalibrationRow, order="id")

    async def transitions(self) -> list[StoredRow]:
        """Every model transition (few: one per zone move), by id."""
        return await self._rows(ModelTransitionRow, order="id")

    async def zones(self) -> list[StoredRow]:
        """Every model's zone (one row per tenant and model moved), by id."""
        return await self._rows(ModelZoneRow, order="id")

    async def events(
        self, after_seq: int, limit: int, since: datetime | None = None
    ) -> list[StoredRow]:
        """Audit events in chain order after `after_seq`, those at or after `since`."""
        c = _table(AuditEventRow).c
        where = [c.at >= since] if since is not None else []
        return await self._rows(AuditEventRow, *where, order="seq", limit=limit, after=after_seq)

    async def event(self, seq: int) -> StoredRow | None:
        c = _table(AuditEventRow).c
        found = await self._rows(AuditEventRow, c.seq == seq, order="seq")
        return found[0] if found else None
