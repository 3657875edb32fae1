"""Queries over subject models' zones and their transitions (`api.services.lifecycle`).

A scope is a tenant's name, or "" for no tenant (open mode and keys of every tenant)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.store.tables import ModelTransitionRow, ModelZoneRow


class LifecycleRepository:
    """Zones and transitions over one session (the caller owns the transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def zone(self, scope: str, model: str, *, lock: bool = False) -> ModelZoneRow | None:
        """The model's zone row (None: never moved, a candidate). `lock`: FOR UPDATE (on
        PostgreSQL; SQLite has one writer anyway)."""
        query = select(ModelZoneRow).where(ModelZoneRow.scope == scope, ModelZoneRow.model == model)
        if lock:
            query = query.with_for_update()
        return (await self.session.exec(query)).first()

    async def zones(self, scope: str) -> Sequence[ModelZoneRow]:
        result = await self.session.exec(
            select(ModelZoneRow)
            .where(ModelZoneRow.scope == scope)
            .order_by(col(ModelZoneRow.model))
        )
        return result.all()

    async def all_zones(self) -> Sequence[ModelZoneRow]:
        """Every model's zone in every scope (the background policies and the gauges)."""
        return (await self.session.exec(select(ModelZoneRow))).all()

    def add(self, row: ModelZoneRow | ModelTransitionRow) -> None:
        self.session.add(row)

    async def transitions(
        self, scope: str, model: str, limit: int = 500
    ) -> Sequence[ModelTransitionRow]:
        """The model's transitions, oldest first (at most `limit`, the newest)."""
        result = await self.session.exec(
            select(ModelTransitionRow)
            .where(ModelTransitionRow.scope == scope, ModelTransitionRow.model == model)
            .order_by(col(ModelTransitionRow.created_at).desc(), col(ModelTransitionRow.id))
            .limit(limit)
        )
        return list(reversed(result.all()))
