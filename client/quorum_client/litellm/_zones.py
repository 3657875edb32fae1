"""The pre-call hook's view of Quorum: a model's zone and the recommended model, each
cached for a TTL.

A lookup that fails (Quorum unreachable, a timeout, a 5xx or an auth error, an answer
that is not Quorum's) gives None: the hook then lets the call through (fails open), and
that answer is cached for at most `FAILED_TTL_S`, so a Quorum that is down costs the
application one timeout per model every few seconds, not one per call. The timeout bounds
the whole lookup (a server trickling its answer too), and an answer is read up to
`MAX_ANSWER_BYTES`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

T = TypeVar("T")
FAILED_TTL_S = 5.0
CANDIDATE = "candidate"
MAX_ANSWER_BYTES = 1 << 20
"""A zone or a recommendation is a few hundred bytes; a bigger answer is not Quorum's."""


class LookupFailed(Exception):
    """Quorum could not say (unreachable, timed out, answered an error); `kind` names the
    failure without its details (`ConnectError`, `HTTP 401`, `timeout`), for the log."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Recommendation:
    model: str | None
    reason: str


@dataclass(frozen=True)
class _Entry(Generic[T]):
    value: T | None
    error: LookupFailed | None
    expires: float


class TTLCache(Generic[T]):
    """`get(key, fetch)`: the cached answer while fresh, else `await fetch()`; a failure
    (LookupFailed) is cached too, as None with its reason, for min(ttl, FAILED_TTL_S)."""

    def __init__(
        self,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 10_000,
    ) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self.max_entries = max_entries
        """Model names are few; requests may name any, so the cache is bounded all the same."""
        self._entries: dict[str, _Entry[T]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(
        self, key: str, fetch: Callable[[], Awaitable[T]]
    ) -> tuple[T | None, LookupFailed | None, bool]:
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
                error: LookupFailed | None = None
                ttl = self.ttl_s
            except LookupFailed as exc:
                value, error, ttl = None, exc, min(self.ttl_s, FAILED_TTL_S)
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
                self._locks = {k: held for k, held in self._locks.items() if held.locked()}
            self._entries[key] = _Entry(value, error, self.clock() + ttl)
            return value, error, True

    def clear(self) -> None:
        self._entries.clear()


class Governance:
    """GET /v1/models/{model} and /v1/routing/recommendation, with a short deadline and no
    retries (the application is waiting)."""

    def __init__(self, url: str, api_key: str | None, timeout_s: float) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.headers = {"User-Agent": "quorum-client-litellm", "Accept": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        # Built once: httpx builds one per client otherwise, reading the CA bundle, which
        # would block the proxy's event loop for tens of milliseconds at every lookup.
        self._tls = httpx.create_ssl_context()

    async def _get(self, path: str, params: dict[str, str] | None = None) -> _Answer:
        try:
            async with (
                asyncio.timeout(self.timeout_s),
                httpx.AsyncClient(
                    base_url=self.url,
                    headers=self.headers,
                    timeout=self.timeout_s,
                    verify=self._tls,
                ) as http,
                http.stream("GET", path, params=params) as answer,
            ):
                body = bytearray()
                async for chunk in answer.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_ANSWER_BYTES:
                        raise LookupFailed(f"an answer over {MAX_ANSWER_BYTES} bytes", "too large")
                kind = answer.headers.get("content-type", "")
                return _Answer(answer.status_code, bytes(body), kind, path)
        except TimeoutError as exc:
            raise LookupFailed(f"no answer within {self.timeout_s:g} s", "timeout") from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            kind = type(exc).__name__
            raise LookupFailed(f"{kind}: {exc}"[:200], kind) from exc

    async def zone(self, model: str) -> str:
        """The model's zone; a model Quorum has never seen (404) is a candidate."""
        answer = await self._get(f"/v1/models/{quote(model, safe='')}")
        if answer.status == 404 and answer.content_type.startswith("application/problem+json"):
            return CANDIDATE  # Quorum's own 404 (a problem document), not some other server's
        zone = answer.object().get("zone")
        if not isinstance(zone, str):
            raise LookupFailed(f"no zone in the answer from {answer.path}", "no zone")
        return zone

    async def recommendation(self, use_case: str | None, profile: str | None) -> Recommendation:
        params = {k: v for k, v in (("use_case", use_case), ("profile", profile)) if v}
        body = (await self._get("/v1/routing/recommendation", params)).object()
        model = body.get("model")
        return Recommendation(
            model if isinstance(model, str) and model else None, str(body.get("reason") or "")
        )


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    content_type: str
    path: str

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def object(self) -> dict[str, Any]:
        """The body of a successful answer, a JSON object; else LookupFailed."""
        if not 200 <= self.status < 300:
            raise LookupFailed(f"HTTP {self.status} from {self.path}", f"HTTP {self.status}")
        body = self.json()
        if not isinstance(body, dict):
            kind = self.content_type.split(";")[0] or "no content type"
            raise LookupFailed(f"not a JSON object ({kind}) from {self.path}", "not JSON")
        return body
