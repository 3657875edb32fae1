"""Webhook deliveries: signed, retried with backoff, recorded, re-sent on a human verdict.

Deliveries are rows written in the same transaction that completes an evaluation (or
records the human verdict), so a crash cannot lose one; a worker in every replica sends
the due ones, claiming each with a conditional UPDATE so two replicas do not both send.
Each attempt connects only to an address `api.services.webhook_targets` allows (checked
after DNS resolution; a refused target fails at once, without retries), times out after
`ATTEMPT_TIMEOUT_S`, follows no redirect and reads no response body. At most
`per_key` deliveries of one submitting key are in flight at once (tasks of their own,
never awaited by the loop that claims), so one tenant's slow endpoint delays only its own.

Signature (verify it on the receiving side): header
`Quorum-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
Reject deliveries whose `t` is more than a few minutes old (replay) or whose MAC differs.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import json
import logging
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx

from api.services.webhook_targets import BlockedTarget, WebhookGuard
from api.store.engine import SessionFactory
from api.store.tables import WebhookDeliveryRow, utcnow
from api.store.webhooks import WebhookRepository

log = logging.getLogger("quorum.webhooks")

MAX_ATTEMPTS = 6
"""Attempts per delivery (1 + 5 retries, over about 30 s of backoff) before `failed`."""
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 600.0
ATTEMPT_TIMEOUT_S = 5.0
"""Connect, write and read, per attempt."""
PER_KEY = 4
"""Deliveries of one submitting key in flight at once (this process)."""
MAX_IN_FLIGHT = 64
CLAIM_S = 60.0
"""A claimed delivery is retried by any replica if not finished within this."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The `Quorum-Signature` header value for `body`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, body: bytes, header: str, tolerance_s: int = 300) -> bool:
    """Check a `Quorum-Signature` header (for receivers, and for our tests)."""
    if not header.isascii():
        return False  # compare_digest refuses non-ASCII text; no signature is such text
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(time.time() - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp).encode(), header.encode())


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
        guard: WebhookGuard | None = None,
        per_key: int = PER_KEY,
    ) -> None:
        self.sessions = sessions
        self.default_secret = default_secret
        self.client = client or httpx.AsyncClient(
            timeout=ATTEMPT_TIMEOUT_S, follow_redirects=False, trust_env=False
        )
        self.guard = guard or WebhookGuard()
        self.per_key = per_key
        self._wake = asyncio.Event()
        self._in_flight: dict[str | None, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()

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
        """Claim up to `limit` due deliveries of keys with room, and start sending each in
        a task of its own; returns how many were started."""
        room = MAX_IN_FLIGHT - len(self._tasks)
        if room <= 0:
            return 0
        busy = [k for k, n in self._in_flight.items() if n >= self.per_key]
        now = utcnow()
        started: list[WebhookDeliveryRow] = []
        async with self.sessions() as session:
            repo = WebhookRepository(session)
            until = now + timedelta(seconds=CLAIM_S)
            for d in await repo.due(now, min(limit, room), exclude_keys=busy):
                if self._in_flight.get(d.api_key_id, 0) >= self.per_key:
                    continue  # its key filled up within this batch
                if await repo.claim(d, until):
                    self._in_flight[d.api_key_id] = self._in_flight.get(d.api_key_id, 0) + 1
                    started.append(d)
            await session.commit()
        for d in started:
            task = asyncio.create_task(self._send(d))
            self._tasks.add(task)
            task.add_done_callback(functools.partial(self._done, d.api_key_id))
        return len(started)

    def _done(self, key: str | None, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        left = self._in_flight.get(key, 1) - 1
        if left > 0:
            self._in_flight[key] = left
        else:
            self._in_flight.pop(key, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("webhook delivery failed: %s", task.exception())
        self.wake()  # room for that key again

    async def drain(self) -> None:
        """Wait for the deliveries in flight (tests; shutdown cancels them instead)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

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
            target = await self.guard.target(d.url)
        except BlockedTarget as exc:
            log.warning("webhook %s refused: %s", d.id, exc)
            await self._record(d, None, f"refused: {exc}"[:500], final=True)
            return
        headers["host"] = target.host_header
        extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else {}
        try:
            request = self.client.build_request(
                "POST", target.url, content=body, headers=headers, extensions=extensions
            )
            # httpx's timeout bounds each read: a receiver trickling its headers a byte at
            # a time held one attempt for minutes. This bounds the attempt as a whole.
            async with asyncio.timeout(ATTEMPT_TIMEOUT_S):
                response = await self.client.send(request, stream=True)
                await response.aclose()  # the body is not read: a status is all we need
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        except TimeoutError:
            error = f"no answer within {ATTEMPT_TIMEOUT_S:g} s"
        await self._record(d, status, error)

    async def _record(
        self, d: WebhookDeliveryRow, status: int | None, error: str | None, final: bool = False
    ) -> None:
        now = utcnow()
        attempts = d.attempts + 1  # as counted by the claim (`d` was read before it)
        values: dict[str, Any] = {"last_status": status, "last_error": error}
        if error is None:
            values.update(status="delivered", delivered_at=now)
        elif final or attempts >= MAX_ATTEMPTS:
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
        """Stop: deliveries in flight are cancelled (their claim runs out and any replica
        sends them again)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.client.aclose()
