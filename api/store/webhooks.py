"""Queries over the webhook outbox (deliveries commit with the result they announce)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.store.tables import ApiKeyRow, WebhookDeliveryRow


class WebhookRepository:
    """Outbox persistence over one session (the caller owns the transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def secret_of(self, api_key_id: str) -> str | None:
        """The signing secret of the key that asked for the webhook, if it has one."""
        key = await self.session.get(ApiKeyRow, api_key_id)
        return key.webhook_secret if key and key.webhook_secret else None

    async def due(
        self, now: datetime, limit: int, exclude_keys: Sequence[str | None] = ()
    ) -> Sequence[WebhookDeliveryRow]:
        """Pending deliveries whose next attempt is due, earliest first, but for those of
        the keys in `exclude_keys` (None: deliveries of requests made without a key)."""
        q = select(WebhookDeliveryRow).where(
            col(WebhookDeliveryRow.status) == "pending",
            col(WebhookDeliveryRow.next_attempt_at) <= now,
        )
        named = [k for k in exclude_keys if k is not None]
        if named:
            q = q.where(
                or_(
                    col(WebhookDeliveryRow.api_key_id).is_(None),
                    col(WebhookDeliveryRow.api_key_id).not_in(named),
                )
            )
        if None in exclude_keys:
            q = q.where(col(WebhookDeliveryRow.api_key_id).is_not(None))
        q = q.order_by(col(WebhookDeliveryRow.next_attempt_at)).limit(limit)
        return (await self.session.exec(q)).all()

    async def claim(self, d: WebhookDeliveryRow, until: datetime) -> bool:
        """Push a due delivery's next attempt to `until` and count the attempt (this
        process sends it now; one that dies sending has still made it); False if another
        process claimed it first."""
        result = await self.session.exec(
            update(WebhookDeliveryRow)
            .where(
                col(WebhookDeliveryRow.id) == d.id,
                col(WebhookDeliveryRow.status) == "pending",
                col(WebhookDeliveryRow.next_attempt_at) == d.next_attempt_at,
            )
            .values(next_attempt_at=until, attempts=col(WebhookDeliveryRow.attempts) + 1)
            # `d` keeps the count it was read with (the sender adds this attempt itself):
            # synchronised, it counted each attempt twice, 5 attempts of the 6 made.
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    async def record(self, delivery_id: str, values: dict[str, Any]) -> None:
        """Store an attempt's outcome."""
        await self.session.exec(
            update(WebhookDeliveryRow)
            .where(col(WebhookDeliveryRow.id) == delivery_id)
            .values(**values)
        )
