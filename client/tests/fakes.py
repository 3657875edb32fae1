"""What the client's tests share: a stored evaluation as the service answers it, problem
answers, and an httpx.MockTransport that plays a script of answers and records requests."""

from __future__ import annotations

import json
from typing import Any

import httpx

from quorum_client import QuorumClient

EVALUATION: dict[str, Any] = {
    "id": "e1",
    "kind": "evaluation",
    "panel": "jury",
    "rubric": {"id": "helpfulness", "version": 1},
    "status": "decided",
    "verdict": None,
    "confidence": None,
    "agreement": None,
    "routing": None,
    "votes": [],
    "judges": [],
    "input": {},
    "metadata": {},
    "created_at": "2025-01-01T00:00:00Z",
    "completed_at": None,
}
"""The smallest evaluation the service serves (every required field, nothing else)."""


def problem(status: int, **headers: str) -> httpx.Response:
    body = {"type": "about:blank", "title": "Busy", "status": status, "detail": "try later"}
    return httpx.Response(status, json=body, headers=headers)


def scripted(
    *answers: httpx.Response | Exception,
) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport answering with `answers` in turn (the last one repeats); records requests."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers[min(len(seen), len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handle), seen


def fake(transport: httpx.BaseTransport, **kwargs: Any) -> QuorumClient:
    client = QuorumClient("http://quorum.test", transport=transport, **kwargs)
    client.backoff_base = 0.001  # keep jittered backoff short in tests
    return client


def body(request: httpx.Request) -> Any:
    """The JSON body a request carried."""
    return json.loads(request.content)
