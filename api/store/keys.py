"""Queries over API keys. Services and the authenticator call these."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.store.tables import ApiKeyRow, utcnow

ANY_KEY = select(ApiKeyRow.id).limit(1)
"""Asked on every request while the API is open (`api.auth`): built once."""


class KeyRepository:
    """API-key persistence over one session (the caller owns the transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def any_created(self) -> bool:
        """Has any key ever been created (revoked ones count)?"""
        conn = await self.session.connection()
        return (await conn.execute(ANY_KEY)).first() is not None

    async def by_prefix(self, prefix: str) -> list[ApiKeyRow]:
        rows = await self.session.exec(select(ApiKeyRow).where(col(ApiKeyRow.prefix) == prefix))
        return list(rows.all())

    async def get(self, key_id: str) -> ApiKeyRow | None:
        return await self.session.get(ApiKeyRow, key_id)

    async def add(self, row: ApiKeyRow) -> None:
        self.session.add(row)

    async def all(self) -> list[ApiKeyRow]:
        rows = await self.session.exec(select(ApiKeyRow).order_by(col(ApiKeyRow.created_at)))
        return list(rows.all())

    async def revoke(self, row: ApiKeyRow) -> None:
        row.revoked_at = utcnow()
        self.session.add(row)
