"""Queries over drift monitors (stored CUSUM states), drift events and the sweep cursor.

Scopes: "" stands for rows of no tenant when written; read with scope "" (a caller of no
tenant: open mode, keys of every tenant) the events of every tenant are seen."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.store.tables import DriftEventRow, DriftMonitorRow, GovernanceCursorRow

StreamKey = tuple[str, str, str, str]
"""(scope, model, use case or "", criterion)."""


class DriftRepository:
    """Drift persistence over one session (the caller owns the transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: DriftMonitorRow | DriftEventRow | GovernanceCursorRow) -> None:
        self.session.add(row)

    async def cursor(self, name: str, *, lock: bool = False) -> GovernanceCursorRow | None:
        query = select(GovernanceCursorRow).where(GovernanceCursorRow.name == name)
        if lock:
            query = query.with_for_update()
        return (await self.session.exec(query)).first()

    async def monitors(self, keys: Sequence[StreamKey]) -> dict[StreamKey, DriftMonitorRow]:
        """The stored monitors of these streams (those that exist)."""
        if not keys:
            return {}
        models = sorted({k[1] for k in keys})
        result = await self.session.exec(
            select(DriftMonitorRow).where(col(DriftMonitorRow.model).in_(models))
        )
        wanted = set(keys)
        found: dict[StreamKey, DriftMonitorRow] = {}
        for row in result.all():
            key = (row.scope, row.model, row.use_case, row.criterion)
            if key in wanted:
                found[key] = row
        return found

    async def all_monitors(self) -> Sequence[DriftMonitorRow]:
        return (await self.session.exec(select(DriftMonitorRow))).all()

    async def events(
        self,
        scope: str,
        model: str | None = None,
        since: datetime | None = None,
        limit: int = 1000,
    ) -> Sequence[DriftEventRow]:
        """Drift events, newest first."""
        query = select(DriftEventRow)
        for condition in _where(scope, model, since):
            query = query.where(condition)
        result = await self.session.exec(
            query.order_by(col(DriftEventRow.created_at).desc(), col(DriftEventRow.id)).limit(limit)
        )
        return result.all()

    async def count_since(
        self, scope: str, model: str, since: datetime | None
    ) -> tuple[int, datetime | None]:
        """How many drift events the model had since `since` (None: ever), and the last."""
        query = select(func.count(), func.max(DriftEventRow.created_at))
        for condition in _where(scope, model, since):
            query = query.where(condition)
        n, last = (await self.session.exec(query)).one()
        if isinstance(last, str):  # SQLite's aggregate bypasses the column type
            last = datetime.fromisoformat(last)
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        return int(n), last


def _where(scope: str, model: str | None, since: datetime | None) -> list[Any]:
    conditions: list[Any] = []
    if scope:
        conditions.append(col(DriftEventRow.scope) == scope)
    if model is not None:
        conditions.append(col(DriftEventRow.model) == model)
    if since is not None:
        conditions.append(col(DriftEventRow.created_at) >= since)
    return conditions
