"""Limits on what a request may cost before it is served, as pure ASGI middleware: the
body's size (counting streamed bytes too), the time to send it, and a valid key before a
large body is read. `SecurityHeaders` adds `X-Content-Type-Options: nosniff` to every
response, these middlewares' own included."""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import problems
from api.errors import PayloadTooLarge, QuorumError, RequestTimeout, Unauthorized
from api.problems import PROBLEM_JSON, CarriedError

EARLY_AUTH_BYTES = 16 * 1024
"""A body larger than this (or of unknown length) is read only after the key checks out."""


async def send_problem(scope: Scope, send: Send, exc: QuorumError) -> None:
    """Answer `exc` as problem details and close the connection (the body is unread)."""
    raw = json.dumps(problems.of(exc, scope.get("path", ""))).encode()
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(raw)).encode()),
        (b"connection", b"close"),
    ]
    for name, value in (problems.headers_of(exc) or {}).items():
        headers.append((name.lower().encode(), value.encode()))
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": raw})


class BodyLimit:
    """Answer 413 problem details when a request body exceeds `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # FastAPI re-raises only HTTPException from body reading (anything
                    # else becomes a 400): carry the domain error inside one, and the
                    # problem handler answers it like any other (payload-too-large).
                    raise CarriedError(PayloadTooLarge(self._detail()))
            return message

        await self.app(scope, limited, send)

    def _detail(self) -> str:
        return f"request body exceeds {self.max_bytes} bytes"

    async def _reject(self, scope: Scope, send: Send) -> None:
        await send_problem(scope, send, PayloadTooLarge(self._detail()))


class BodyTimeout:
    """Answer 408 when a chunk of the request body takes longer than `timeout_s` to come
    (a client holding a half-sent request); waiting for a disconnect is not timed."""

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        complete = False

        async def timed() -> Message:
            nonlocal complete
            if complete:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.timeout_s)
            except TimeoutError:
                detail = f"the request body was not received within {self.timeout_s:g} s"
                raise CarriedError(RequestTimeout(detail)) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        await self.app(scope, timed, send)


class EarlyAuth:
    """Check the API key before a large body (or one of unknown length) is read, so an
    anonymous client cannot make the service buffer and parse megabytes. Scopes and
    panels are checked later, by the routes; small bodies go straight through (their
    key is checked once, by the route)."""

    def __init__(self, app: ASGIApp, min_bytes: int = EARLY_AUTH_BYTES) -> None:
        self.app = app
        self.min_bytes = min_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            headers = dict(scope.get("headers") or [])
            declared = headers.get(b"content-length")
            large = declared is None or not declared.isdigit() or int(declared) > self.min_bytes
            auth = getattr(scope["app"].state, "auth", None) if "app" in scope else None
            if large and auth is not None:
                header = headers.get(b"authorization")
                try:
                    await auth.principal(header.decode("latin-1") if header else None)
                except Unauthorized as exc:
                    await send_problem(scope, send, exc)
                    return
        await self.app(scope, receive, send)


NOSNIFF = (b"x-content-type-options", b"nosniff")


class SecurityHeaders:
    """`X-Content-Type-Options: nosniff` on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() != b"x-content-type-options"
                ]
                headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)
