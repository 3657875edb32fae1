"""How `quorum serve` runs uvicorn: bounded connections, and no half-sent request held.

uvicorn bounds connections and requests per worker (`limit_concurrency`: beyond it, 503)
and idle keep-alive connections (`timeout_keep_alive`), but not the time a client takes
to send a request's headers: `HeaderTimeoutProtocol` closes a connection whose request
headers are not complete `QUORUM_HEADER_TIMEOUT_S` after it opened (or after the next
request began). The body is timed by `api.limits.BodyTimeout`.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.settings import Settings


@functools.cache
def _configured_header_timeout_s() -> float:
    return Settings().header_timeout_s


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline on each request's headers."""

    header_timeout_s: ClassVar[float | None] = None
    """None: QUORUM_HEADER_TIMEOUT_S (tests set it on a subclass)."""

    _header_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        if self._header_timer is None:
            timeout = self.header_timeout_s or _configured_header_timeout_s()
            self._header_timer = self.loop.call_later(timeout, self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The connection limits `quorum serve` passes to uvicorn."""
    return {
        "http": "api.serving:HeaderTimeoutProtocol",
        "limit_concurrency": settings.limit_concurrency,
        "timeout_keep_alive": settings.timeout_keep_alive_s,
    }
