"""The Python client (quorum_client) against a real Quorum server.

Its retry policy, error mapping and request building over httpx.MockTransport are tested in
the client's own suite, client/tests (standard-library unittest; also collected here).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from quorum_client import (
    AsyncQuorumClient,
    ComparisonCreate,
    ConflictError,
    EvaluationCreate,
    EvaluationPublic,
    NotFoundError,
    PointwiseInput,
    QuorumClient,
    ValidationError,
)
from tests.support import ServerThread


@pytest.fixture
def client(quorum: ServerThread) -> Iterator[QuorumClient]:
    with QuorumClient(quorum.url, timeout=30) as c:
        yield c


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


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
