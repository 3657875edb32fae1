"""How `quorum serve` runs uvicorn: bounded connections, and no half-sent request held.

uvicorn bounds connections and requests per worker (`limit_concurrency`: beyond it, 503)
and idle keep-alive connections (`timeout_keep_alive`), but not the time a client takes
to send a request's headers: `HeaderTimeoutProtocol` closes a connection whose request
headers are not complete `QUORUM_HEADER_TIMEOUT_S` after it opened (or after the next
request began). The body is timed by `api.limits.BodyTimeout`. `listen_problem` finds
a busy port before uvicorn starts the app (and says "ready").
"""

from __future__ import annotations

import asyncio
import errno
import functools
import json
import socket
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.problems import TYPE_BASE
from api.settings import Settings


@functools.cache
def _configured_header_timeout_s() -> float:
    return Settings().header_timeout_s


MAX_HEADER_BYTES = 64 * 1024
"""The most a request's line and headers may take: more is 431 and the connection closed.
httptools has no limit of its own, so a client could hold 40 MB of unfinished headers per
connection until the header timeout, before any key is checked."""

_TOO_LARGE = json.dumps(
    {
        "type": f"{TYPE_BASE}headers-too-large",
        "title": "Request header fields too large",
        "status": 431,
        "detail": f"the request line and headers take more than {MAX_HEADER_BYTES} bytes",
    }
).encode()


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline on each request's headers, and a
    bound on their size (`MAX_HEADER_BYTES`)."""

    header_timeout_s: ClassVar[float | None] = None
    """None: QUORUM_HEADER_TIMEOUT_S (tests set it on a subclass)."""

    _header_timer: asyncio.TimerHandle | None = None
    _header_bytes = 0

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_bytes = 0
            timeout = self.header_timeout_s or _configured_header_timeout_s()
            self._header_timer = self.loop.call_later(timeout, self._headers_late)

    def data_received(self, data: bytes) -> None:
        if self._header_timer is not None:  # the headers are not complete yet
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self._disarm()
                head = (
                    "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                    "content-type: application/problem+json\r\n"
                    f"content-length: {len(_TOO_LARGE)}\r\nconnection: close\r\n\r\n"
                )
                self.transport.write(head.encode() + _TOO_LARGE)
                self.transport.close()
                return
        super().data_received(data)

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


def listen_problem(host: str, port: int, *, dual_stack: bool = False) -> str:
    """Why `quorum serve` could not listen on `host`:`port` (empty: it can), found by
    binding each of its addresses as the server will: asyncio's (one worker) sets
    IPV6_V6ONLY on an IPv6 socket, uvicorn's own socket for several workers does not
    (`dual_stack`: it takes the IPv4 port too). uvicorn starts the app (and its "quorum
    ready" line) before it binds: a busy port was "ready", then an error."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot resolve {host}: {exc.strerror}"
    for family, kind, proto, _, address in found:
        try:
            probe = socket.socket(family, kind, proto)
        except OSError:  # a family this host lacks (no IPv6): asyncio skips it too
            continue
        with probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and not dual_stack:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return "the port is in use: stop what listens there, or choose another --port"
                return exc.strerror or str(exc)
    return ""
