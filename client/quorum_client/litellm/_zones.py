"""The pre-call hook's view of Quorum: a model's zone and the recommended model, each
cached for a TTL.

A lookup that fails (Quorum unreachable, a timeout, a 5xx or an auth error) gives None:
the hook then lets the call through (fails open), and that answer is cached for at most
`FAILED_TTL_S`, so a Quorum that is down costs the application one timeout per model
every few seconds, not one per call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

T = TypeVar("T")
FAILED_TTL_S = 5.0
CANDIDATE = "candidate"


class LookupFailed(Exception):
    """Quorum could not say (unreachable, timed out, answered an error)."""


@dataclass(frozen=True)
class Recommendation:
    model: str | None
    reason: str


@dataclass(frozen=True)
class _Entry(Generic[T]):
    value: T | None
    error: str | None
    expires: float


class TTLCache(Generic[T]):
    """`get(key, fetch)`: the cached answer while fresh, else `await fetch()`; a failure
    (LookupFailed) is cached too, as None with its reason, for min(ttl, FAILED_TTL_S)."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._entries: dict[str, _Entry[T]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(
        self, key: str, fetch: Callable[[], Awaitable[T]]
    ) -> tuple[T | None, str | None, bool]:
        """(value, error, fresh): `fresh` is True when this call asked Quorum."""
        entry = self._entries.get(key)
        if entry is not None and entry.expires > self.clock():
            return entry.value, entry.error, False
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:  # one lookup per key at a time; the others wait for its answer
            entry = self._entries.get(key)
            if entry is not None and entry.expires > self.clock():
                return entry.value, entry.error, False
            try:
                value: T | None = await fetch()
                error, ttl = None, self.ttl_s
            except LookupFailed as exc:
                value, error, ttl = None, str(exc), min(self.ttl_s, FAILED_TTL_S)
            if len(self._entries) > 10_000:  # model names are few; bound it all the same
                self._entries.clear()
            self._entries[key] = _Entry(value, error, self.clock() + ttl)
            return value, error, True

    def clear(self) -> None:
        self._entries.clear()


class Governance:
    """GET /v1/models/{model} and /v1/routing/recommendation, with a short timeout and no
    retries (the application is waiting)."""

    def __init__(self, url: str, api_key: str | None, timeout_s: float) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.headers = {"User-Agent": "quorum-client-litellm", "Accept": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"

    async def _get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        try:
            async with httpx.AsyncClient(
                base_url=self.url, headers=self.headers, timeout=self.timeout_s
            ) as http:
                return await http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise LookupFailed(f"{type(exc).__name__}: {exc}"[:200] or type(exc).__name__) from exc

    @staticmethod
    def _json(answer: httpx.Response) -> dict[str, Any]:
        if answer.is_error:
            raise LookupFailed(f"HTTP {answer.status_code} from {answer.request.url.path}")
        try:
            body = answer.json()
        except ValueError as exc:
            raise LookupFailed(f"not JSON from {answer.request.url.path}") from exc
        if not isinstance(body, dict):
            raise LookupFailed(f"not an object from {answer.request.url.path}")
        return body

    async def zone(self, model: str) -> str:
        """The model's zone; a model Quorum has never seen (404) is a candidate."""
        answer = await self._get(f"/v1/models/{quote(model, safe='')}")
        if answer.status_code == 404:
            return CANDIDATE
        zone = self._json(answer).get("zone")
        if not isinstance(zone, str):
            raise LookupFailed("no zone in the answer")
        return zone

    async def recommendation(self, use_case: str | None, profile: str | None) -> Recommendation:
        params = {k: v for k, v in (("use_case", use_case), ("profile", profile)) if v}
        body = self._json(await self._get("/v1/routing/recommendation", params))
        model = body.get("model")
        return Recommendation(
            model if isinstance(model, str) and model else None, str(body.get("reason") or "")
        )
