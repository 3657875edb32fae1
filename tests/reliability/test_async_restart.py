"""Accept evaluations with `Prefer: respond-async` (single and batch, some with a webhook),
SIGKILL `quorum serve` while the judges are still thinking, restart it with a fast judge,
and check that the pending work survived in the database: every accepted evaluation ends
decided, and each one that asked for a webhook gets a correctly signed delivery.

The first server's judges think for seconds, so nothing finishes before the kill; the
restarted server's judges answer at once. Both run with a short QUORUM_LEASE_GRACE_S (the
lease is taken at acceptance, by the first server) and QUORUM_SWEEP_INTERVAL_S.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.services.webhooks import verify
from tests.doubles.judge_server import JudgeDouble
from tests.support import ServerThread, slow_config
from tests.support.quorum_process import Server, rows
from tests.support.webhooks import Receiver

pytestmark = pytest.mark.timeout(150)  # a hang-stop: a run takes ~25 s, most of it two cold
# start-ups (about 12 s each on a loaded 2-core machine)

SLOW_MS = 4000
"""How long the first server's judges think: the window in which it is killed."""
FAST_MS = 50
"""How long the restarted server's judges think."""
DEADLINE_S = 5
"""The panel's deadline; the lease is this plus the grace."""
FAST = {"QUORUM_LEASE_GRACE_S": "1.0", "QUORUM_SWEEP_INTERVAL_S": "0.5"}
SECRET = "whsec_async_restart"
ASYNC = {"Prefer": "respond-async"}
SINGLES = 4
BATCH = 6
SETTLE_S = 40
"""How long the restarted server may take to judge everything and send every webhook."""


def body(key: str, hook: str | None) -> dict[str, Any]:
    """An item for panel `sleepy` whose honest verdict is `expected(key)`."""
    item: dict[str, Any] = {
        "panel": "sleepy",
        "input": {"prompt": "p", "response": f"fine [[q={expected(key)}]]"},
        "idempotency_key": key,
    }
    if hook is not None:
        item["webhook_url"] = hook
    return item


def expected(key: str) -> int:
    """The verdict an honest panel gives the item sent under `key`."""
    return int(key.rsplit("-", 1)[1]) % 5 + 1


def wait_for(done: Callable[[], bool], timeout: float) -> bool:
    """Poll `done` until it holds or `timeout` passes; whether it held."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def deliveries(database: Path) -> list[tuple[str, str, str, int]]:
    """Webhook outbox rows: (evaluation id, event, status, attempts)."""
    query = "SELECT evaluation_id, event, status, attempts FROM webhook_deliveries"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
        return db.execute(query).fetchall()


@dataclass
class Restart:
    hook: str
    singles: list[httpx.Response]
    batch: httpx.Response
    accepted: dict[str, str]
    """Idempotency key -> evaluation id, for every item answered 202."""
    hooked: set[str]
    """Keys of the items sent with a webhook_url."""
    at_kill: dict[str, dict[str, Any]]
    early: list[dict[str, Any]]
    """Webhook deliveries received before the kill (none expected)."""
    final: dict[str, dict[str, Any]]
    """Key -> GET /v1/evaluations/{id} from the restarted server, once settled."""
    stored: dict[str, dict[str, Any]]
    received: list[dict[str, Any]]
    outbox: list[tuple[str, str, str, int]]


@pytest.fixture(scope="module")
def restart(tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble) -> Iterator[Restart]:
    """Accept async work on a server with slow judges, SIGKILL it, restart it with fast
    judges, and wait until every evaluation is judged and every webhook delivered."""
    root = tmp_path_factory.mktemp("async-restart")
    database = root / "quorum.db"
    slow = slow_config(root / "slow.yaml", double, SLOW_MS, DEADLINE_S)
    fast = slow_config(root / "fast.yaml", double, FAST_MS, DEADLINE_S)
    env = {**FAST, "QUORUM_WEBHOOK_SECRET": SECRET, "QUORUM_WEBHOOK_ALLOW": '["127.0.0.1/32"]'}
    receiver = Receiver()
    with ServerThread(receiver.app) as sink:
        hook = f"{sink.url}/hook"
        first = Server(slow, database, root / "first.log", **env)
        try:
            first.wait_ready(timeout=45)
            # The first judge call of a process is slow (litellm warms up): not in the window.
            warm = {"panel": "jury", "input": {"prompt": "p", "response": "[[q=3]]"}}
            assert httpx.post(f"{first.url}/v1/evaluations", json=warm, timeout=30).is_success
            singles = [body(f"single-{i}", hook if i < 2 else None) for i in range(SINGLES)]
            items = [body(f"batch-{i}", hook if i % 2 == 0 else None) for i in range(BATCH)]
            with httpx.Client(base_url=first.url, timeout=30, headers=ASYNC) as client:
                answers = [client.post("/v1/evaluations", json=item) for item in singles]
                batch = client.post("/v1/evaluations/batch", json={"items": items})
            first.proc.kill()  # SIGKILL: no lifespan shutdown, no drain
            first.proc.wait(timeout=10)
        finally:
            first.stop()
        at_kill = rows(database)
        early = list(receiver.got)

        accepted = {
            r.json()["idempotency_key"]: r.json()["id"] for r in answers if r.status_code == 202
        }
        if batch.status_code == 202:
            for result in batch.json()["data"]:
                if result["status"] == 202:
                    ev = result["evaluation"]
                    accepted[ev["idempotency_key"]] = ev["id"]
        hooked = {b["idempotency_key"] for b in singles + items if "webhook_url" in b}

        second = Server(fast, database, root / "second.log", **env)
        try:
            second.wait_ready(timeout=45)
            final: dict[str, dict[str, Any]] = {}
            with httpx.Client(base_url=second.url, timeout=15) as client:

                def settled() -> bool:
                    for key, evaluation_id in accepted.items():
                        if final.get(key, {}).get("status", "pending") == "pending":
                            final[key] = client.get(f"/v1/evaluations/{evaluation_id}").json()
                    return all(ev["status"] != "pending" for ev in final.values())

                def delivered() -> bool:
                    sent = {accepted[k] for k in hooked & accepted.keys()}
                    got = {m["json"]["evaluation"]["id"] for m in receiver.got}
                    recorded = {
                        e for e, _, status, _ in deliveries(database) if status != "pending"
                    }
                    return sent <= got and sent <= recorded

                started = time.monotonic()
                wait_for(settled, SETTLE_S)
                wait_for(delivered, SETTLE_S - (time.monotonic() - started))
        finally:
            second.stop()
        received = list(receiver.got)
    yield Restart(
        hook,
        answers,
        batch,
        accepted,
        hooked,
        at_kill,
        early,
        final,
        rows(database),
        received,
        deliveries(database),
    )


def test_async_requests_are_accepted_at_once(restart: Restart) -> None:
    for r in restart.singles:
        assert r.status_code == 202, r.text
        assert r.headers["preference-applied"] == "respond-async"
        ev = r.json()
        assert r.headers["location"] == f"/v1/evaluations/{ev['id']}"
        assert ev["status"] == "pending" and ev["votes"] == [] and ev["verdict"] is None
    assert restart.batch.status_code == 202, restart.batch.text
    assert restart.batch.headers["preference-applied"] == "respond-async"
    data = restart.batch.json()["data"]
    assert [d["index"] for d in data] == list(range(BATCH))
    assert [d["status"] for d in data] == [202] * BATCH
    assert {d["evaluation"]["status"] for d in data} == {"pending"}
    assert len(restart.accepted) == SINGLES + BATCH
    for key in restart.hooked:
        assert restart.final[key]["webhook_url"] == restart.hook, key


def test_every_accepted_evaluation_is_pending_at_the_kill(restart: Restart) -> None:
    assert set(restart.at_kill) == set(restart.accepted), "accepted but not stored"
    for key, row in restart.at_kill.items():
        assert row["id"] == restart.accepted[key]
        assert (row["status"], row["runs"]) == ("pending", 1), (key, row)
    assert restart.early == [], "a webhook was sent before any judge could have answered"


def test_every_accepted_evaluation_is_decided_after_the_restart(restart: Restart) -> None:
    assert set(restart.final) == set(restart.accepted), "an accepted evaluation went missing"
    assert set(restart.stored) == set(restart.accepted)
    for key, ev in restart.final.items():
        assert ev["id"] == restart.accepted[key]
        if ev["status"] == "failed":  # visibly, with a reason; but see the assertion below
            assert ev["error"], (key, ev)
            continue
        assert ev["status"] in ("decided", "in_review"), (key, ev)
        assert len(ev["votes"]) == 3 and ev["verdict"]["value"] == expected(key), (key, ev)
        assert restart.stored[key]["runs"] == 2, (key, restart.stored[key])  # killed, resumed
    # Three honest, fast judges after the restart: nothing should fail or need a human.
    assert {key: ev["status"] for key, ev in restart.final.items()} == dict.fromkeys(
        restart.accepted, "decided"
    )


def test_each_requested_webhook_is_delivered_signed(
    restart: Restart, record_property: Callable[[str, object], None]
) -> None:
    wanted = {restart.accepted[k]: k for k in restart.hooked}
    by_id: dict[str, list[dict[str, Any]]] = {}
    for msg in restart.received:
        assert verify(SECRET, msg["body"], msg["signature"]), msg["signature"]
        assert msg["event"] == "evaluation.completed", msg["event"]
        ev = msg["json"]["evaluation"]
        assert ev["id"] in wanted, f"a delivery for {ev['id']}, which asked for none"
        assert ev["status"] == "decided", ev
        assert ev["verdict"]["value"] == expected(wanted[ev["id"]]), ev
        by_id.setdefault(ev["id"], []).append(msg)
    assert set(by_id) == set(wanted), f"no delivery for {sorted(set(wanted) - set(by_id))}"
    # Delivery is at least once: a repeat is allowed, and recorded in the report (-rP shows
    # the print; junit XML gets the property).
    repeats = {i: len(m) for i, m in by_id.items() if len(m) > 1}
    record_property("webhook_repeats", repeats)
    if repeats:
        print(f"webhooks delivered more than once: {repeats}")
    outbox = Counter((e, event, status) for e, event, status, _ in restart.outbox)
    assert outbox == Counter((i, "evaluation.completed", "delivered") for i in wanted), outbox
