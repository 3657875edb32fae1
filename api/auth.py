"""API keys: `Authorization: Bearer <key>`, scopes, panel restrictions, rate limits.

Keys look like `qk_<prefix>_<secret>`; only the SHA-256 of the whole key is stored (the
keys are 190-bit random tokens, so a fast hash is enough: nothing to brute-force).

Open mode is decided on every request: the API is open while no key has ever been
created (revoked keys count, so revoking the last key never reopens it), or when
`QUORUM_AUTH=off` says so; `quorum serve` allows either only on a loopback address.
`QUORUM_AUTH=on` requires keys even before the first one exists. Missing or unknown key:
401; a key without the scope, or naming a panel it may not use: 403; over the key's
rate: 429 with Retry-After. A key is a principal: its name is the reviewer it records,
its tenant the data it reads and writes (docs/security.md).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import FastAPI, Request

from api.errors import Forbidden, InvalidInput, PayloadTooLarge, RateLimited, Unauthorized
from api.store.audit_log import Actor
from api.store.engine import SessionFactory
from api.store.keys import KeyRepository
from api.store.reach import Reach

Scope = Literal["evaluate", "review", "admin"]
SCOPES: tuple[Scope, ...] = ("evaluate", "review", "admin")
AuthMode = Literal["auto", "on", "off"]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key (by id and name), or anyone when the service is open."""

    key_id: str | None
    name: str
    """The key's name: the reviewer its decisions are recorded as."""
    scopes: frozenset[str]
    panels: frozenset[str] | None
    rate_limit_per_min: int | None
    tenant: str | None = None
    """Whose evaluations and reviews the key reads and writes; None: every tenant's
    (admin keys created with `--tenant '*'`, and open mode)."""

    @property
    def open(self) -> bool:
        """The service is open: no key, anyone is anyone."""
        return self.key_id is None

    @property
    def admin(self) -> bool:
        """An admin key (open mode is not one: nobody is known there)."""
        return self.key_id is not None and "admin" in self.scopes

    @property
    def actor(self) -> Actor:
        """Who the audit trail records for this caller's actions: the key and its name."""
        return Actor(self.key_id, self.name)

    @property
    def reach(self) -> Reach:
        """The tenant and panels this caller may see."""
        return Reach(self.tenant, self.panels)

    @property
    def reviews_blind(self) -> bool:
        """A reviewer (not an admin): reads evaluations blind until they decided them."""
        return self.key_id is not None and "review" in self.scopes and not self.admin

    def may_use(self, panel: str) -> bool:
        return self.panels is None or panel in self.panels

    def sees(self, tenant: str | None) -> bool:
        """May this caller see a row of `tenant` (None: a row of no tenant)?"""
        return self.tenant is None or tenant == self.tenant

    def reviewer(self, asserted: str | None) -> str:
        """The reviewer a review call is recorded as: the key's name. A `reviewer` sent in
        the body must be that name (403 otherwise); in open mode it is required and used."""
        if self.open:
            if not asserted:
                raise InvalidInput("name a 'reviewer': the API is open, so no key says who you are")
            return asserted
        if asserted is not None and asserted != self.name:
            raise Forbidden(
                f"this key reviews as {self.name!r}: give that name as the reviewer "
                "(or none: the key's name is used)"
            )
        return self.name


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

    def __init__(
        self, sessions: SessionFactory, default_rate_per_min: int, mode: AuthMode = "auto"
    ) -> None:
        self.sessions = sessions
        self.default_rate = default_rate_per_min
        self.mode = mode
        self.limiter = RateLimiter()
        self._closed = mode == "on"

    async def is_open(self) -> bool:
        """Asked on every request. `auto`: open until a key has been created, checked in the
        database while open; once closed, closed for good (no revocation or deletion
        reopens it in this process)."""
        if self.mode == "off":
            return True
        if self._closed:
            return False
        async with self.sessions() as session:
            self._closed = await KeyRepository(session).any_created()
        return not self._closed

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
            row.tenant,
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


BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key from `quorum keys create`, as `Authorization: Bearer qk_...`. "
    "Required on /v1 once a key exists (QUORUM_AUTH=auto) or always (QUORUM_AUTH=on); "
    "optional while the API is open.",
}


def document(app: FastAPI) -> None:
    """Declare the key in the OpenAPI schema: every /v1 operation takes a bearer key, which
    may be left out while the API is open (an empty requirement beside it), so Swagger UI
    offers an Authorize button and clients generated from the schema send the header."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes["apiKey"] = BEARER_SCHEME
        for path, operations in schema.get("paths", {}).items():
            if path.startswith("/v1/"):
                for operation in operations.values():
                    operation["security"] = [{"apiKey": []}, {}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
