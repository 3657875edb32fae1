"""The Python client: against a real Quorum server, and its retry policy over a fake transport."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from api.client import (
    AsyncQuorumClient,
    Call,
    ConflictError,
    NotFoundError,
    QuorumAPIError,
    QuorumClient,
    RateLimitError,
    UnavailableError,
    ValidationError,
    parse_retry_after,
)
from api.schemas import ComparisonCreate, EvaluationCreate, EvaluationPublic, PointwiseInput
from tests.conftest import ServerThread


@pytest.fixture
def client(quorum: ServerThread) -> Iterator[QuorumClient]:
    with QuorumClient(quorum.url, timeout=30) as c:
        yield c


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# --- against the real server ---------------------------------------------------------


def test_evaluate_returns_the_typed_evaluation(client: QuorumClient) -> None:
    ev = client.evaluate("jury", "Capital of France?", "Paris. [[q=5]]", metadata={"app": "t"})
    assert isinstance(ev, EvaluationPublic)
    assert ev.status == "decided" and ev.kind == "evaluation"
    assert ev.verdict is not None and ev.verdict.value == 5 and ev.verdict.source == "panel"
    assert len(ev.votes) == 3 and ev.metadata == {"app": "t"}
    assert client.get_evaluation(ev.id) == ev


def test_compare_names_the_winner(client: QuorumClient) -> None:
    ev = client.compare("pair", "p", "[[q=1]]", "[[q=4]]")
    assert ev.kind == "comparison" and ev.winner == "b"


def test_batch_mixes_models_and_dicts_and_keeps_order(client: QuorumClient) -> None:
    results = client.batch(
        [
            EvaluationCreate(panel="jury", input=PointwiseInput(prompt="p", response="[[q=4]]")),
            ComparisonCreate.model_validate(
                {
                    "panel": "pair",
                    "input": {"prompt": "p", "response_a": "[[q=5]]", "response_b": "[[q=1]]"},
                }
            ),
            {"panel": "nope", "input": {"prompt": "p", "response": "x"}},
        ]
    )
    assert [r.index for r in results] == [0, 1, 2]
    assert [r.status for r in results] == [200, 200, 404]
    first, second = results[0].evaluation, results[1].evaluation
    assert first is not None and first.verdict is not None and first.verdict.value == 4
    assert second is not None and second.winner == "a"
    assert results[2].problem is not None and "nope" in results[2].problem["detail"]


def test_async_mode_then_wait_for(client: QuorumClient) -> None:
    pending = client.evaluate("jury", "p", "[[q=2]]", wait=False)
    assert pending.status == "pending" and pending.votes == []
    done = client.wait_for(pending.id, timeout=20, poll_interval=0.05)
    assert done.status == "decided" and done.verdict is not None and done.verdict.value == 2

    [item] = client.batch(
        [{"panel": "jury", "input": {"prompt": "p", "response": "[[q=3]]"}}], wait=False
    )
    assert item.status == 202 and item.evaluation is not None
    assert item.evaluation.status == "pending"
    assert client.wait_for(item.evaluation.id, timeout=20, poll_interval=0.05).status == "decided"


def test_review_queue_claim_decide_release(client: QuorumClient) -> None:
    ev = client.evaluate("split", "p", "routed to humans")
    assert ev.status == "in_review" and ev.review_id is not None
    listed = client.reviews(status="pending", panel="split")
    assert ev.id in {i.evaluation_id for i in listed}

    item = client.claim("alice", panel="split")
    assert item is not None and item.evaluation_id == ev.id and item.claimed_by == "alice"
    assert client.claim("bob", panel="split") is None  # 204: nothing left
    with pytest.raises(ConflictError):
        client.decide(item.id, "bob", 4)  # not bob's claim
    with pytest.raises(ValidationError, match="not on the scale"):
        client.decide(item.id, "alice", 7)

    released = client.release(item.id, "alice")
    assert released.status == "pending" and released.claimed_by is None
    again = client.claim("carol", panel="split")
    assert again is not None and again.id == item.id
    done = client.decide(again.id, "carol", 4, comment="fine")
    assert done.status == "decided" and done.final_value == 4
    verdict = client.get_evaluation(ev.id).verdict
    assert verdict is not None and verdict.source == "human" and verdict.value == 4


def test_unknown_evaluation_is_not_found_with_the_problem(client: QuorumClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.get_evaluation("does-not-exist")
    assert caught.value.status == 404
    assert caught.value.problem["type"].endswith("not-found")
    assert "does-not-exist" in caught.value.problem["detail"]
    assert "does-not-exist" in str(caught.value) and "Not found" in str(caught.value)
    with pytest.raises(NotFoundError, match="no panel named"):
        client.evaluate("nope", "p", "r")


def test_idempotency_key_replays_and_conflicts(client: QuorumClient) -> None:
    key = unique("client-key")
    first = client.evaluate("jury", "p", "[[q=4]]", idempotency_key=key)
    assert client.evaluate("jury", "p", "[[q=4]]", idempotency_key=key).id == first.id
    with pytest.raises(ConflictError) as caught:
        client.evaluate("jury", "p", "[[q=1]]", idempotency_key=key)
    assert caught.value.status == 409 and first.id in caught.value.problem["detail"]


def test_server_side_422_and_catalog(client: QuorumClient) -> None:
    with pytest.raises(ValidationError, match="use /v1/comparisons"):
        client.evaluate("pair", "p", "r")  # pointwise body on a pairwise panel
    assert {"jury", "split", "pair"} <= {p.name for p in client.panels()}
    assert "helpfulness" in {r.id for r in client.rubrics()}
    report = client.agreement("jury", window="1h")
    assert report.panel == "jury" and report.window == "1h"


async def test_async_client_against_the_server(quorum: ServerThread) -> None:
    async with AsyncQuorumClient(quorum.url, timeout=30) as client:
        ev = await client.evaluate("jury", "p", "[[q=5]]")
        assert ev.verdict is not None and ev.verdict.value == 5
        assert (await client.compare("pair", "p", "[[q=5]]", "[[q=2]]")).winner == "a"
        pending = await client.evaluate("jury", "p", "[[q=1]]", wait=False)
        done = await client.wait_for(pending.id, timeout=20, poll_interval=0.05)
        assert done.verdict is not None and done.verdict.value == 1
        assert await client.claim("dora", panel="jury") is None
        with pytest.raises(NotFoundError):
            await client.get_evaluation("missing")


# --- retry policy, over httpx.MockTransport -------------------------------------------

EVALUATION = EvaluationPublic.model_validate(
    {
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
).model_dump(mode="json")


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


def fake(transport: httpx.MockTransport, **kwargs: Any) -> QuorumClient:
    client = QuorumClient("http://quorum.test", transport=transport, **kwargs)
    client.backoff_base = 0.001  # keep jittered backoff short in tests
    return client


def test_429_with_retry_after_zero_is_retried() -> None:
    ok = httpx.Response(200, json=EVALUATION)
    transport, seen = scripted(
        problem(429, **{"Retry-After": "0"}), problem(429, **{"Retry-After": "0"}), ok
    )
    with fake(transport, api_key="qk_test") as client:
        ev = client.evaluate("jury", "p", "r")  # a POST without a key: 429 is still safe
    assert ev.id == "e1" and len(seen) == 3
    assert all(r.headers["authorization"] == "Bearer qk_test" for r in seen)


def test_503_beyond_max_retries_raises() -> None:
    transport, seen = scripted(problem(503, **{"Retry-After": "0"}))
    with fake(transport, max_retries=2) as client, pytest.raises(UnavailableError) as caught:
        client.panels()
    assert len(seen) == 3 and caught.value.status == 503
    assert caught.value.problem["detail"] == "try later" and caught.value.retry_after == 0


def test_retry_after_as_http_date() -> None:
    now = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert parse_retry_after("Sun, 01 Jun 2025 11:00:00 GMT", now) == 0  # past: at once
    assert parse_retry_after("7") == 7 and parse_retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    client = fake(scripted()[0])
    call: Call[Any] = Call("GET", "/v1/panels", lambda r: r)
    delay = client._delay(call, 0, problem(429, **{"Retry-After": later}))
    assert delay is not None and 28 < delay <= 30
    past = format_datetime(datetime.now(UTC) - timedelta(seconds=5), usegmt=True)
    transport, seen = scripted(
        problem(503, **{"Retry-After": past}), httpx.Response(200, json=EVALUATION)
    )
    with fake(transport) as c:
        assert c.get_evaluation("e1").id == "e1" and len(seen) == 2


def test_a_retry_after_longer_than_max_wait_is_not_waited_out() -> None:
    transport, seen = scripted(problem(429, **{"Retry-After": "3600"}))
    with fake(transport, max_wait=10) as client, pytest.raises(RateLimitError) as caught:
        client.panels()
    assert len(seen) == 1 and caught.value.retry_after == 3600


def test_connection_errors_are_retried_only_where_resending_is_safe() -> None:
    down = httpx.ConnectError("refused")
    ok = httpx.Response(200, json=EVALUATION)
    transport, seen = scripted(down, ok)
    with fake(transport) as client:
        assert client.get_evaluation("e1").id == "e1" and len(seen) == 2  # GET: retried
    transport, seen = scripted(down, ok)
    with fake(transport) as client, pytest.raises(httpx.ConnectError):
        client.evaluate("jury", "p", "r")  # could judge twice: not resent
    assert len(seen) == 1
    transport, seen = scripted(down, ok)
    with fake(transport) as client:
        assert client.evaluate("jury", "p", "r", idempotency_key="k").id == "e1"
    assert len(seen) == 2  # the key makes a resend safe
    transport, seen = scripted(down)
    with fake(transport, max_retries=1) as client, pytest.raises(httpx.ConnectError):
        client.panels()
    assert len(seen) == 2


def test_non_problem_error_bodies_still_raise() -> None:
    transport, _ = scripted(httpx.Response(502, text="<html>bad gateway</html>"))
    with fake(transport) as client, pytest.raises(QuorumAPIError) as caught:
        client.panels()
    assert type(caught.value) is QuorumAPIError and caught.value.status == 502
    assert "bad gateway" in str(caught.value)


def test_wait_for_times_out_on_a_pending_evaluation() -> None:
    transport, _ = scripted(httpx.Response(200, json={**EVALUATION, "status": "pending"}))
    with fake(transport) as client, pytest.raises(TimeoutError, match="e1"):
        client.wait_for("e1", timeout=0.05, poll_interval=0.01)


async def test_async_client_retries_too() -> None:
    transport, seen = scripted(
        problem(429, **{"Retry-After": "0"}), httpx.Response(200, json=EVALUATION)
    )
    async with AsyncQuorumClient("http://quorum.test", transport=transport) as client:
        assert (await client.get_evaluation("e1")).id == "e1"
    assert len(seen) == 2
    transport, seen = scripted(problem(503, **{"Retry-After": "0"}))
    async with AsyncQuorumClient("http://q.test", transport=transport, max_retries=1) as client:
        with pytest.raises(UnavailableError):
            await client.panels()
    assert len(seen) == 2
