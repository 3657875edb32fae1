"""Batch and asynchronous evaluation over HTTP."""

from __future__ import annotations

import time

import httpx

ITEM = {"panel": "jury", "input": {"prompt": "p", "response": "[[q=5]]"}}
PAIR = {
    "kind": "comparison",
    "panel": "pair",
    "input": {"prompt": "p", "response_a": "[[q=1]]", "response_b": "[[q=4]]"},
}


def wait_done(http: httpx.Client, evaluation_id: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        ev = http.get(f"/v1/evaluations/{evaluation_id}").json()
        if ev["status"] != "pending":
            return ev
        assert time.monotonic() < deadline, "still pending"
        time.sleep(0.05)


def test_batch_answers_each_item_in_order(http: httpx.Client) -> None:
    items = [
        ITEM,
        PAIR,
        {"panel": "jury", "input": {"prompt": "p"}},  # no response
        {"panel": "nope", "input": {"prompt": "p", "response": "x"}},
        {"kind": "oops", **ITEM},
        {**ITEM, "panel": "pair"},  # pointwise body on a pairwise panel
    ]
    r = http.post("/v1/evaluations/batch", json={"items": items})
    assert r.status_code == 200
    data = r.json()["data"]
    assert [d["index"] for d in data] == list(range(6))
    assert [d["status"] for d in data] == [200, 200, 422, 404, 422, 422]
    assert data[0]["evaluation"]["verdict"]["value"] == 5
    assert data[1]["evaluation"]["winner"] == "b"
    assert data[2]["problem"]["detail"].startswith("input.response")
    assert data[3]["problem"]["type"].endswith("not-found")
    assert all(d["problem"] is None for d in data[:2])


def test_batch_limits(http: httpx.Client) -> None:
    r = http.post("/v1/evaluations/batch", json={"items": [{}] * 101})
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    assert http.post("/v1/evaluations/batch", json={"items": []}).status_code == 422


def test_async_single_returns_202_then_completes(http: httpx.Client) -> None:
    r = http.post("/v1/evaluations", json=ITEM, headers={"Prefer": "respond-async"})
    assert r.status_code == 202
    assert r.headers["preference-applied"] == "respond-async"
    ev = r.json()
    assert ev["status"] == "pending" and ev["votes"] == []
    assert r.headers["location"] == f"/v1/evaluations/{ev['id']}"
    done = wait_done(http, ev["id"])
    assert done["status"] == "decided" and done["verdict"]["value"] == 5


def test_async_batch(http: httpx.Client) -> None:
    r = http.post(
        "/v1/evaluations/batch",
        json={"items": [ITEM, PAIR, {"panel": "nope", "input": {"prompt": "p", "response": "x"}}]},
        headers={"Prefer": "respond-async"},
    )
    assert r.status_code == 202
    data = r.json()["data"]
    assert [d["status"] for d in data] == [202, 202, 404]
    assert wait_done(http, data[0]["evaluation"]["id"])["verdict"]["value"] == 5
    assert wait_done(http, data[1]["evaluation"]["id"])["winner"] == "b"
