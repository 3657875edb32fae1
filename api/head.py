"""HEAD wherever GET is (RFC 9110 9.3.2), as pure ASGI middleware: a HEAD request is
routed as a GET, and its answer keeps the GET's status and headers (Content-Length
included) without the body. The OpenAPI schema is untouched: HEAD is implied by GET."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEAD_KEY = "quorum.head"
"""Set in the scope of a HEAD request routed as a GET."""


class HeadAsGet:
    """Serve HEAD as GET and drop the body bytes of the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def bodiless(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # a streamed chunk: nothing of it is sent
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        # A copy: the server's own scope (its access log, its HEAD handling) still says HEAD.
        await self.app({**scope, "method": "GET", HEAD_KEY: True}, receive, bodiless)


def is_head(request: Request) -> bool:
    """Whether `request` came as a HEAD: a route with a side effect of sending its body
    (the audit export records that it was exported) answers with headers only."""
    return bool(request.scope.get(HEAD_KEY))
