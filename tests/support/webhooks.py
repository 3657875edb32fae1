"""A webhook receiver on loopback for the delivery tests: it records what Quorum sends."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


class Receiver:
    """Records deliveries; fails the first `fail_first` with HTTP 500."""

    def __init__(self) -> None:
        self.got: list[dict[str, Any]] = []
        self.fail_first = 0
        self.lock = threading.Lock()
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        with self.lock:
            if self.fail_first > 0:
                self.fail_first -= 1
                return Response(status_code=500)
            self.got.append(
                {
                    "body": body,
                    "json": json.loads(body),
                    "signature": request.headers.get("quorum-signature", ""),
                    "event": request.headers.get("quorum-event"),
                }
            )
        return Response(status_code=204)

    def wait(self, n: int, timeout: float = 15) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.got) < n:
            assert time.monotonic() < deadline, f"got {len(self.got)} of {n} deliveries"
            time.sleep(0.05)
        return self.got
