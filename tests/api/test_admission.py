"""Admission control and leases under a backlog, over HTTP against a real server.

A server that may judge 1 evaluation at once with 1 more waiting refuses the third with
503 problem details and `Retry-After`, storing nothing; a batch that does not fit is
refused whole. Evaluations that wait for a judging slot longer than their lease are not
taken for abandoned: the server renews the leases of what it holds, so none is judged
twice.
"""

from __future__ import annotations

import concurrent.futures
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.doubles.judge_server import JudgeDouble
from tests.support import ServerThread, judge

JUDGE_S = 0.8
"""How long each judge takes to answer."""


def _config(path: Path, double: JudgeDouble, deadline_s: float) -> Path:
    b = double.base_url
    config = {
        "judges": [
            judge(f"slow-{i}", f"sleep-{int(JUDGE_S * 1000)}-honest", b, timeout_s=5)
            for i in (1, 2, 3)
        ],
        "panels": [
            {
                "name": "slow",
                "rubric": "helpfulness",
                "aggregation": "median",
                "judges": ["slow-1", "slow-2", "slow-3"],
                "deadline_s": deadline_s,
            }
        ],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def _server(root: Path, double: JudgeDouble, **settings: Any) -> ServerThread:
    from api.app import create_app
    from api.settings import Settings

    db = root / "q.db"
    deadline_s = settings.pop("deadline_s", 10)
    config = _config(root / "q.yaml", double, deadline_s)
    return ServerThread(
        create_app(Settings(database_url=f"sqlite:///{db}", config=config, **settings)), db
    )


def _stored(db: Path) -> dict[str, tuple[str, int]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT id, status, runs FROM evaluations").fetchall()
    return {i: (status, runs) for i, status, runs in rows}


def _body(i: int, **extra: Any) -> dict[str, Any]:
    return {"panel": "slow", "input": {"prompt": f"p{i}", "response": "[[q=4]]"}, **extra}


@pytest.fixture
def small(tmp_path: Path, double: JudgeDouble) -> Iterator[ServerThread]:
    with _server(tmp_path, double, max_concurrent_evaluations=1, max_queued_evaluations=1) as s:
        yield s


def test_requests_beyond_the_backlog_are_refused_with_retry_after(small: ServerThread) -> None:
    with httpx.Client(base_url=small.url, timeout=30) as http:
        # Two held (one judged, one waiting), asynchronously so the answers come at once.
        held = [http.post("/v1/evaluations", json=_body(0), headers={"Prefer": "respond-async"})]
        held.append(
            http.post("/v1/evaluations", json=_body(1), headers={"Prefer": "respond-async"})
        )
        assert [r.status_code for r in held] == [202, 202]
        refused = http.post("/v1/evaluations", json=_body(2, idempotency_key="third"))
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        problem = refused.json()
        assert problem["type"].endswith("/overloaded")
        assert problem["status"] == 503 and "capacity 2" in problem["detail"]
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        # Asynchronous requests and batches are refused the same way, before storing.
        r = http.post("/v1/evaluations", json=_body(3), headers={"Prefer": "respond-async"})
        assert r.status_code == 503
        batch = {"items": [_body(4), _body(5)]}
        r = http.post("/v1/evaluations/batch", json=batch)
        assert r.status_code == 503 and r.json()["type"].endswith("/overloaded")
        assert set(_stored(small.database)) == {r.json()["id"] for r in held}  # type: ignore[arg-type]
        metrics = http.get("/metrics").text
        assert 'quorum_evaluations_refused_total{panel="slow"} 2.0' in metrics
        assert 'quorum_evaluations_refused_total{panel="(batch)"} 2.0' in metrics
        assert "quorum_evaluations_held 2.0" in metrics

        # Once the backlog drains, the refused request goes through; nothing was kept
        # under its idempotency key, so it is judged now.
        deadline = time.monotonic() + 30
        while True:
            states = [http.get(f"/v1/evaluations/{r.json()['id']}").json() for r in held]
            if all(s["status"] == "decided" for s in states) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert [s["status"] for s in states] == ["decided", "decided"]
        again = http.post("/v1/evaluations", json=_body(2, idempotency_key="third"))
        assert again.status_code == 200 and again.json()["status"] == "decided"


def test_a_replayed_request_is_answered_even_when_overloaded(small: ServerThread) -> None:
    """An idempotent retry of stored work costs no judging: it is not refused."""
    with httpx.Client(base_url=small.url, timeout=30) as http:
        first = http.post("/v1/evaluations", json=_body(0, idempotency_key="k"))
        assert first.status_code == 200
        for i in (1, 2):
            r = http.post("/v1/evaluations", json=_body(i), headers={"Prefer": "respond-async"})
            assert r.status_code == 202
        assert http.post("/v1/evaluations", json=_body(3)).status_code == 503
        replay = http.post("/v1/evaluations", json=_body(0, idempotency_key="k"))
        assert replay.status_code == 200 and replay.json()["id"] == first.json()["id"]


def test_a_concurrent_burst_gets_answers_or_refusals_and_loses_nothing(
    small: ServerThread,
) -> None:
    """Twelve requests at once against room for two: each gets 200 or 503, every 200 is
    stored and decided, and nothing else is stored."""
    with (
        httpx.Client(base_url=small.url, timeout=60) as http,
        concurrent.futures.ThreadPoolExecutor(12) as pool,
    ):
        answers = list(pool.map(lambda i: http.post("/v1/evaluations", json=_body(i)), range(12)))
    codes = sorted(r.status_code for r in answers)
    assert set(codes) == {200, 503}, codes
    ok = {r.json()["id"] for r in answers if r.status_code == 200}
    assert all(r.json()["status"] == "decided" for r in answers if r.status_code == 200)
    assert set(_stored(small.database)) == ok  # type: ignore[arg-type]


def test_work_waiting_for_a_slot_keeps_its_lease(tmp_path: Path, double: JudgeDouble) -> None:
    """Two replicas on one database. Replica A has one slot and five evaluations queued at
    once; each lease (deadline 1.5 s + grace 0.6 s) is shorter than the wait of the last in
    line (~4 judge round-trips). Replica B sweeps for abandoned work every 0.2 s, yet takes
    none, because A renews the leases of the evaluations it holds (every grace / 3)."""
    settings: dict[str, Any] = {
        "max_concurrent_evaluations": 1,
        "max_queued_evaluations": 10,
        "lease_grace_s": 0.6,
        "sweep_interval_s": 0.2,
        "deadline_s": 1.5,
    }
    with (
        _server(tmp_path, double, **settings) as a,
        _server(tmp_path, double, **settings) as b,
        httpx.Client(base_url=a.url, timeout=30) as http,
    ):
        ids = []
        for i in range(5):
            r = http.post("/v1/evaluations", json=_body(i), headers={"Prefer": "respond-async"})
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            stored = _stored(a.database)  # type: ignore[arg-type]
            if all(stored[i][0] != "pending" for i in ids):
                break
            time.sleep(0.2)
        assert b.url != a.url
    assert {stored[i] for i in ids} == {("decided", 1)}, stored


def test_concurrent_batches_cannot_overfill_the_backlog(small: ServerThread) -> None:
    """A batch reserves its room when admitted: four batches of two (keyed, so each item
    waits a round trip before it is stored) sent at once against room for two: one is
    accepted, the others are refused whole, and no more than two evaluations are stored."""

    def batch(b: int) -> httpx.Response:
        items = [_body(10 * b + i, idempotency_key=f"b{b}-{i}") for i in range(2)]
        with httpx.Client(base_url=small.url, timeout=30) as http:
            return http.post(
                "/v1/evaluations/batch", json={"items": items}, headers={"Prefer": "respond-async"}
            )

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(batch, range(4)))
    assert sorted(r.status_code for r in answers) == [202, 503, 503, 503], [r.text for r in answers]
    assert len(_stored(small.database)) == 2  # type: ignore[arg-type]


def test_a_batch_larger_than_the_backlog_is_too_large_not_overloaded(
    small: ServerThread,
) -> None:
    """Room for two can never take a batch of three: 413 (split it), not a 503 whose
    Retry-After would have the client retry for ever."""
    items = [_body(i) for i in range(3)]
    with httpx.Client(base_url=small.url, timeout=30) as http:
        r = http.post("/v1/evaluations/batch", json={"items": items})
    assert r.status_code == 413, r.text
    assert "retry-after" not in r.headers
    assert "at most 2 evaluations" in r.json()["detail"]
