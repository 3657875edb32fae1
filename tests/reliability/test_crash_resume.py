"""Kill `quorum serve` with SIGKILL while judges are still thinking, restart it, and check
that nothing accepted was lost: every evaluation is stored `pending` at the kill, and ends
judged (or visibly failed) after the restart; clients of the dead server fail fast.

The restart uses QUORUM_LEASE_GRACE_S and QUORUM_SWEEP_INTERVAL_S so the lease (panel
deadline + grace) runs out and the sweeper looks again within seconds, not minutes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.doubles.judge_server import JudgeDouble
from tests.support import slow_config
from tests.support.quorum_process import Server, rows

pytestmark = pytest.mark.timeout(240)  # two cold server start-ups on a loaded machine

N = 10
"""Evaluations in flight at the kill."""
SLEEP_MS = 1500
"""How long each slow judge thinks: the window in which the server is killed."""
DEADLINE_S = 6
"""The slow panel's deadline; the lease is this plus the grace."""
GRACE_S = 1.0
SWEEP_S = 0.5
BODY = {"panel": "sleepy", "input": {"prompt": "p", "response": "fine [[q=4]]"}}


@dataclass
class Call:
    """One client request to the server that gets killed."""

    key: str
    outcome: BaseException | httpx.Response | None = None
    ended: float = field(default=0.0)


@dataclass
class Crash:
    database: Path
    at_kill: dict[str, dict[str, Any]]
    calls: list[Call]
    killed_at: float
    final: dict[str, dict[str, Any]]
    via_api: dict[str, dict[str, Any]]
    replayed: tuple[str, dict[str, Any]]
    """An idempotency key sent again after the restart, and the answer."""


@pytest.fixture(scope="module")
def crash(tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble) -> Iterator[Crash]:
    """Accept N slow evaluations, SIGKILL the server, restart it with a short lease and
    sweep, and wait for every evaluation to leave `pending`."""
    root = tmp_path_factory.mktemp("crash")
    database, config = (
        root / "quorum.db",
        slow_config(root / "quorum.yaml", double, SLEEP_MS, DEADLINE_S),
    )
    fast = {"QUORUM_LEASE_GRACE_S": str(GRACE_S), "QUORUM_SWEEP_INTERVAL_S": str(SWEEP_S)}

    first = Server(config, database, root / "first.log", **fast)
    try:
        first.wait_ready()
        warm = {"panel": "jury", "input": {"prompt": "p", "response": "[[q=3]]"}}
        assert httpx.post(f"{first.url}/v1/evaluations", json=warm, timeout=30).is_success
        calls = [Call(f"crash-{i}") for i in range(N)]

        def send(call: Call) -> None:
            try:
                call.outcome = httpx.post(
                    f"{first.url}/v1/evaluations",
                    json={**BODY, "idempotency_key": call.key},
                    timeout=30,
                )
            except BaseException as exc:
                call.outcome = exc
            call.ended = time.monotonic()

        threads = [threading.Thread(target=send, args=(c,), daemon=True) for c in calls]
        for t in threads:
            t.start()
        deadline = time.monotonic() + SLEEP_MS / 1000 * 0.8
        while time.monotonic() < deadline and len(rows(database)) < N:
            time.sleep(0.02)
        first.proc.kill()  # SIGKILL: no lifespan shutdown, no drain
        killed_at = time.monotonic()
        first.proc.wait(timeout=10)
        at_kill = rows(database)
        for t in threads:
            t.join(timeout=10)
    finally:
        first.stop()

    second = Server(config, database, root / "second.log", **fast)
    try:
        second.wait_ready()
        deadline = time.monotonic() + 45
        final = rows(database)
        while any(r["status"] == "pending" for r in final.values()):
            assert time.monotonic() < deadline, f"still pending: {final}"
            time.sleep(0.2)
            final = rows(database)
        with httpx.Client(base_url=second.url, timeout=15) as client:
            via_api = {
                key: client.get(f"/v1/evaluations/{row['id']}").json() for key, row in final.items()
            }
            # A client retrying with its idempotency key gets the stored evaluation.
            key = min(final)
            again = client.post("/v1/evaluations", json={**BODY, "idempotency_key": key})
            replayed = (key, again.json())
    finally:
        second.stop()
    yield Crash(database, at_kill, calls, killed_at, final, via_api, replayed)


def test_every_accepted_evaluation_is_pending_at_the_kill(crash: Crash) -> None:
    assert crash.at_kill, "no evaluation was accepted before the kill"
    assert {r["status"] for r in crash.at_kill.values()} == {"pending"}
    sent = {c.key for c in crash.calls}
    assert set(crash.at_kill) <= sent
    # The kill comes once all are stored, or just before the slow judges could answer: a
    # request not stored by then was never accepted, and its client got an error (below).
    assert len(crash.at_kill) >= N // 2, f"only {sorted(crash.at_kill)} stored before the kill"


def test_clients_of_the_killed_server_fail_fast(crash: Crash) -> None:
    for call in crash.calls:
        assert isinstance(call.outcome, httpx.TransportError), (call.key, call.outcome)
        assert not isinstance(call.outcome, httpx.TimeoutException), (call.key, call.outcome)
        assert call.ended - crash.killed_at < 5, (call.key, call.ended - crash.killed_at)


def test_every_accepted_evaluation_is_resumed_or_visibly_failed(crash: Crash) -> None:
    assert set(crash.final) == set(crash.at_kill), "an accepted evaluation went missing"
    for key, row in crash.final.items():
        api = crash.via_api[key]
        assert api["id"] == row["id"] and api["status"] == row["status"], (key, api)
        if row["status"] == "failed":
            assert row["error"] and api["error"], (key, row)
        else:
            assert row["status"] in ("decided", "in_review"), (key, row)
            assert row["runs"] == 2, (key, row)  # the first run died; the resume judged it
            assert len(api["votes"]) == 3 and api["verdict"]["value"] == 4, (key, api)
    # Nothing here should have failed: three honest judges, one interrupted run each.
    assert {r["status"] for r in crash.final.values()} == {"decided"}


def test_replay_after_the_crash_returns_the_stored_evaluation(crash: Crash) -> None:
    key, answer = crash.replayed
    assert answer["id"] == crash.final[key]["id"]
    assert answer["status"] == "decided"


def test_interrupted_evaluations_are_resumed_concurrently(crash: Crash) -> None:
    done = sorted(datetime.fromisoformat(r["completed_at"]) for r in crash.final.values())
    spread = (done[-1] - done[0]).total_seconds()
    # Concurrent resumption finishes them all within about one judge round-trip; serial
    # resumption spreads them over N of them.
    assert spread < 2 * SLEEP_MS / 1000, f"resumed over {spread:.1f}s"
