"""API keys: `Authorization: Bearer <key>`, scopes, panel restrictions, rate limits.

Keys look like `qk_<prefix>_<secret>`; only the SHA-256 of the whole key is stored (the
keys are 190-bit random tokens, so a fast hash is enough: nothing to brute-force). With
no active key in the database the service is open, which `quorum serve` allows only on a
loopback address. Missing or unknown key: 401; a key without the scope or the panel: 403;
over the key's rate: 429 with Retry-After.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from fastapi import Request

from api.errors import Forbidden, PayloadTooLarge, RateLimited, Unauthorized
from api.store.engine import SessionFactory
from api.store.keys import KeyRepository

Scope = Literal["evaluate", "review", "admin"]
SCOPES: tuple[Scope, ...] = ("evaluate", "review", "admin")
OPEN_CHECK_S = 5.0
"""How long the "are there any keys?" answer is cached."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key (by id and name), or anyone when the service is open."""

    key_id: str | None
    name: str
    scopes: frozenset[str]
    panels: frozenset[str] | None
    rate_limit_per_min: int | None

    def may_use(self, panel: str) -> bool:
        return self.panels is None or panel in self.panels


OPEN = Principal(None, "open", frozenset(SCOPES), None, None)


class RateLimiter:
    """A token bucket per key, in this process (several replicas: the limit is per replica)."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key_id: str, per_min: int, cost: int = 1) -> None:
        """Take `cost` tokens (a request, or each item of a batch) or raise RateLimited."""
        now = time.monotonic()
        rate = per_min / 60.0
        with self._lock:
            tokens, last = self._buckets.get(key_id, (float(per_min), now))
            tokens = min(float(per_min), tokens + (now - last) * rate)
            if tokens < cost:
                self._buckets[key_id] = (tokens, now)
                wait = math.ceil((cost - tokens) / rate)
                raise RateLimited(f"rate limit of {per_min} requests per minute exceeded", wait)
            self._buckets[key_id] = (tokens - cost, now)


class Authenticator:
    """Resolves the caller of a request against the keys in the database."""

    def __init__(self, sessions: SessionFactory, default_rate_per_min: int) -> None:
        self.sessions = sessions
        self.default_rate = default_rate_per_min
        self.limiter = RateLimiter()
        self._open_until = 0.0
        self._open = True

    async def is_open(self) -> bool:
        """True while no active key exists (cached for OPEN_CHECK_S)."""
        if time.monotonic() < self._open_until:
            return self._open
        async with self.sessions() as session:
            self._open = not await KeyRepository(session).any_active()
        self._open_until = time.monotonic() + OPEN_CHECK_S
        return self._open

    async def principal(self, authorization: str | None) -> Principal:
        if await self.is_open():
            return OPEN
        if not authorization or not authorization.lower().startswith("bearer "):
            raise Unauthorized("send an API key as 'Authorization: Bearer <key>'")
        key = authorization[7:].strip()
        parts = key.split("_")
        if len(parts) < 3 or parts[0] != "qk":
            raise Unauthorized("malformed API key")
        digest = hashlib.sha256(key.encode()).hexdigest()
        async with self.sessions() as session:
            rows = await KeyRepository(session).by_prefix(parts[1])
        row = next((r for r in rows if hmac.compare_digest(r.sha256, digest)), None)
        if row is None or row.revoked_at is not None:
            raise Unauthorized("unknown or revoked API key")
        return Principal(
            row.id,
            row.name,
            frozenset(row.scopes),
            frozenset(row.panels) if row.panels is not None else None,
            row.rate_limit_per_min,
        )

    async def authorise(self, request: Request, scope: Scope) -> Principal:
        who = await self.principal(request.headers.get("authorization"))
        if scope not in who.scopes:
            raise Forbidden(f"this key lacks the {scope!r} scope")
        rate = who.rate_limit_per_min if who.rate_limit_per_min is not None else self.default_rate
        if who.key_id is not None and rate > 0:
            self.limiter.check(who.key_id, rate)
        request.state.principal = who
        return who

    def charge(self, who: Principal, items: int) -> None:
        """Count a batch's further items against the key's rate (the request itself was
        counted when it was authorised): rate limits count items, not requests."""
        rate = who.rate_limit_per_min if who.rate_limit_per_min is not None else self.default_rate
        if who.key_id is None or rate <= 0 or items <= 0:
            return
        if items + 1 > rate:
            raise PayloadTooLarge(
                f"a batch of {items + 1} items exceeds this key's rate limit of {rate} "
                "items per minute: split it"
            )
        self.limiter.check(who.key_id, rate, items)


def requires(scope: Scope) -> Callable[[Request], Awaitable[Principal]]:
    """A FastAPI dependency: the caller, who must hold `scope`."""

    async def dependency(request: Request) -> Principal:
        auth: Authenticator = request.app.state.auth
        return await auth.authorise(request, scope)

    dependency.__name__ = f"requires_{scope}"
    return dependency
