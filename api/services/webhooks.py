"""Webhook deliveries: signed, retried with backoff, recorded, re-sent on a human verdict.

Deliveries are rows written in the same transaction that completes an evaluation (or
records the human verdict), so a crash cannot lose one; a worker in every replica sends
the due ones, claiming each with a conditional UPDATE so two replicas do not both send.

Signature (verify it on the receiving side): header
`Quorum-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
Reject deliveries whose `t` is more than a few minutes old (replay) or whose MAC differs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx

from api.store.engine import SessionFactory
from api.store.tables import WebhookDeliveryRow, utcnow
from api.store.webhooks import WebhookRepository

log = logging.getLogger("quorum.webhooks")

MAX_ATTEMPTS = 10
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 600.0
SEND_TIMEOUT_S = 10.0
CLAIM_S = 60.0
"""A claimed delivery is retried by any replica if not finished within this."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The `Quorum-Signature` header value for `body`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, body: bytes, header: str, tolerance_s: int = 300) -> bool:
    """Check a `Quorum-Signature` header (for receivers, and for our tests)."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(time.time() - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), header)


def delivery(
    evaluation_id: str, url: str, event: str, payload: dict[str, Any], api_key_id: str | None
) -> WebhookDeliveryRow:
    """A new pending delivery, to add to the session that changes the evaluation."""
    now = utcnow()
    return WebhookDeliveryRow(
        id=uuid.uuid4().hex,
        evaluation_id=evaluation_id,
        url=url,
        event=event,
        payload=payload,
        api_key_id=api_key_id,
        next_attempt_at=now,
        created_at=now,
    )


def backoff(attempts: int) -> float:
    return min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, attempts - 1))


class WebhookSender:
    """Sends due deliveries; `wake()` after writing one to send it at once."""

    def __init__(
        self,
        sessions: SessionFactory,
        default_secret: str | None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.sessions = sessions
        self.default_secret = default_secret
        self.client = client or httpx.AsyncClient(timeout=SEND_TIMEOUT_S)
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, idle_s: float = 1.0) -> None:
        while True:
            try:
                while await self.send_due():
                    pass
            except Exception:
                log.exception("webhook delivery loop failed; will retry")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), idle_s)
            self._wake.clear()

    async def _secret(self, api_key_id: str | None) -> str | None:
        if api_key_id is None:
            return self.default_secret
        async with self.sessions() as session:
            return await WebhookRepository(session).secret_of(api_key_id) or self.default_secret

    async def send_due(self, limit: int = 20) -> int:
        """Claim and send up to `limit` due deliveries; returns how many were attempted."""
        now = utcnow()
        async with self.sessions() as session:
            repo = WebhookRepository(session)
            until = now + timedelta(seconds=CLAIM_S)
            claimed = [d for d in await repo.due(now, limit) if await repo.claim(d, until)]
            await session.commit()
        await asyncio.gather(*(self._send(d) for d in claimed))
        return len(claimed)

    async def _send(self, d: WebhookDeliveryRow) -> None:
        resource = "assessment" if d.event.startswith("assessment.") else "evaluation"
        body = json.dumps(
            {"id": d.id, "event": d.event, resource: d.payload}, separators=(",", ":")
        ).encode()
        headers = {
            "content-type": "application/json",
            "user-agent": "quorum-webhooks",
            "quorum-event": d.event,
            "quorum-delivery": d.id,
        }
        secret = await self._secret(d.api_key_id)
        if secret:
            headers["quorum-signature"] = sign(secret, body, int(time.time()))
        status: int | None = None
        error: str | None = None
        try:
            response = await self.client.post(d.url, content=body, headers=headers)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        await self._record(d, status, error)

    async def _record(self, d: WebhookDeliveryRow, status: int | None, error: str | None) -> None:
        now = utcnow()
        attempts = d.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "last_status": status, "last_error": error}
        if error is None:
            values.update(status="delivered", delivered_at=now)
        elif attempts >= MAX_ATTEMPTS:
            values.update(status="failed")
            log.warning(
                "webhook %s to %s failed after %d attempts: %s", d.id, d.url, attempts, error
            )
        else:
            next_at: datetime = now + timedelta(seconds=backoff(attempts))
            values.update(next_attempt_at=next_at)
        async with self.sessions() as session:
            await WebhookRepository(session).record(d.id, values)
            await session.commit()

    async def close(self) -> None:
        await self.client.aclose()
