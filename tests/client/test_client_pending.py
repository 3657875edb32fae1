"""`wait=True` never hands back a pending evaluation: when the server answers a replayed
idempotency key with one still pending (202 and its Location: the first request's
replica died, say), the client polls it until it concludes, within `max_wait`.

Over httpx.MockTransport, as the client's own suite (client/tests) tests its policy; the
server's side of it is tests/api/test_replica_replay.py."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from quorum_client import AsyncQuorumClient, QuorumClient

PENDING: dict[str, Any] = {
    "id": "e1",
    "kind": "evaluation",
    "panel": "jury",
    "rubric": {"id": "helpfulness", "version": 1},
    "status": "pending",
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
DECIDED = {
    **PENDING,
    "status": "decided",
    "verdict": {"value": 4, "compliant": True, "source": "panel"},
}


def server(polls_pending: int) -> tuple[httpx.MockTransport, list[str]]:
    """POST answers 202 pending; GET answers pending `polls_pending` times, then decided."""
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.method == "POST":
            return httpx.Response(202, json=PENDING, headers={"Location": "/v1/evaluations/e1"})
        gets = sum(s.startswith("GET") for s in seen)
        return httpx.Response(200, json=PENDING if gets <= polls_pending else DECIDED)

    return httpx.MockTransport(handle), seen


def test_a_pending_answer_is_waited_for() -> None:
    transport, seen = server(polls_pending=2)
    with QuorumClient("http://quorum.test", transport=transport) as q:
        ev = q.evaluate("jury", "p", "r", idempotency_key="k1")
    assert ev.status == "decided" and ev.verdict is not None and ev.verdict.value == 4
    assert seen == ["POST /v1/evaluations", *["GET /v1/evaluations/e1"] * 3]


def test_the_async_client_waits_too() -> None:
    async def run() -> str:
        transport, _ = server(polls_pending=1)
        async with AsyncQuorumClient("http://quorum.test", transport=transport) as q:
            return (await q.compare("pair", "p", "a", "b", idempotency_key="k2")).status

    assert asyncio.run(run()) == "decided"


def test_still_pending_after_max_wait_is_a_timeout_not_an_answer() -> None:
    transport, _ = server(polls_pending=10**6)
    with (
        QuorumClient("http://quorum.test", transport=transport, max_wait=0.3) as q,
        pytest.raises(TimeoutError, match="e1 still pending"),
    ):
        q.evaluate("jury", "p", "r", idempotency_key="k3")


def test_wait_false_returns_the_pending_evaluation_at_once() -> None:
    transport, seen = server(polls_pending=0)
    with QuorumClient("http://quorum.test", transport=transport) as q:
        assert q.evaluate("jury", "p", "r", wait=False).status == "pending"
    assert seen == ["POST /v1/evaluations"]
