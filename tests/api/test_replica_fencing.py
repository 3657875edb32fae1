"""Replicas on one database: a worker whose evaluation another replica took over (it
stalled past its lease: a pause, a partition) writes nothing, neither its result nor its
lease renewals; and a short database outage while judging delays the result instead of
discarding the judges' answers. On SQLite and on PostgreSQL.

The take-over is the UPDATE another replica's `take_lease` makes (a run counted, the lease
moved to the taker), run from the test while this replica's judges are thinking."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url

from tests.doubles.judge_server import JudgeDouble
from tests.support import POSTGRES_ENV, ServerThread, plain, scratch_postgres, slow_config

BODY = {"panel": "sleepy", "input": {"prompt": "p", "response": "fine [[q=4]]"}}
SLEEP_MS = 1500
"""How long each judge thinks: the window in which the evaluation is taken over."""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'q.db'}"
        return
    with scratch_postgres(os.environ[POSTGRES_ENV], prefix="quorum_fence") as url:
        yield url


def sql(url: str, statement: Any) -> list[Any]:
    """Run one statement on `url` in a transaction of its own (another replica's write)."""
    from api.store.engine import make_engine

    async def run() -> list[Any]:
        engine = make_engine(url)
        try:
            async with engine.begin() as conn:
                result = await conn.execute(statement)
                return list(result) if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(run())


def replica(url: str, root: Path, double: JudgeDouble, deadline_s: float, grace_s: float) -> Any:
    """One replica's app; its sweeper looks for stale work only at start-up."""
    from api.app import create_app
    from api.settings import Settings

    config = slow_config(root / "q.yaml", double, SLEEP_MS, deadline_s)
    settings = Settings(
        database_url=url, config=config, lease_grace_s=grace_s, sweep_interval_s=3600
    )
    return create_app(settings)


def stored(url: str, evaluation_id: str) -> dict[str, Any]:
    from api.store.evaluations import EVALUATIONS, VOTES

    [row] = sql(url, select(EVALUATIONS).where(EVALUATIONS.c.id == evaluation_id))
    [(votes,)] = sql(
        url, select(func.count()).select_from(VOTES).where(VOTES.c.evaluation_id == evaluation_id)
    )
    return {**row._asdict(), "votes": votes}


def take_over(url: str, evaluation_id: str) -> None:
    """What another replica's `take_lease` does: count a run, move the lease to itself
    (a day ahead: the taker is still judging)."""
    from api.store.evaluations import EVALUATIONS
    from api.store.tables import utcnow

    taken = sql(
        url,
        update(EVALUATIONS)
        .where(EVALUATIONS.c.id == evaluation_id, EVALUATIONS.c.status == "pending")
        .values(runs=EVALUATIONS.c.runs + 1, lease_until=utcnow() + timedelta(days=1))
        .returning(EVALUATIONS.c.runs),
    )
    assert taken == [(2,)]


def accepted(url: str, key: str) -> str:
    """The id of the evaluation stored under idempotency `key`, once it is."""
    from api.store.evaluations import EVALUATIONS

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = sql(url, select(EVALUATIONS.c.id).where(EVALUATIONS.c.idempotency_key == key))
        if found:
            return str(found[0][0])
        time.sleep(0.02)
    raise AssertionError(f"nothing stored under {key!r}")


def idle(app: Any, timeout: float = 15) -> None:
    """Wait until the replica holds no evaluation (its judging ended)."""
    deadline = time.monotonic() + timeout
    while len(app.state.service.leases):
        assert time.monotonic() < deadline, "the replica is still judging"
        time.sleep(0.05)


def test_a_taken_over_worker_stores_nothing(
    database: str, tmp_path: Path, double: JudgeDouble
) -> None:
    from api.store.tables import utcnow

    app = replica(database, tmp_path, double, deadline_s=6, grace_s=0.3)  # renews every 0.1 s
    with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        r = http.post(
            "/v1/evaluations",
            headers={"Prefer": "respond-async"},
            json={**BODY, "idempotency_key": "stalled"},
        )
        assert r.status_code == 202
        take_over(database, r.json()["id"])
        idle(app)
        row = stored(database, r.json()["id"])
    # The judges answered, but another replica holds it in run 2: nothing of run 1 stored,
    # and its renewals did not pull the taker's lease back.
    assert (row["status"], row["runs"], row["votes"], row["verdict_value"]) == (
        "pending",
        2,
        0,
        None,
    )
    lease = row["lease_until"].replace(tzinfo=None)
    assert lease > (utcnow() + timedelta(hours=12)).replace(tzinfo=None)


def test_a_sync_request_taken_over_waits_then_answers_202(
    database: str, tmp_path: Path, double: JudgeDouble
) -> None:
    """Its own result superseded, the request waits for the taker for one lease (deadline
    plus grace), then answers 202 with the Location to poll: never a pending 200."""
    app = replica(database, tmp_path, double, deadline_s=2, grace_s=1)
    answer: list[httpx.Response] = []
    with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        body = {**BODY, "idempotency_key": "superseded"}
        sender = threading.Thread(
            target=lambda: answer.append(http.post("/v1/evaluations", json=body))
        )
        sender.start()
        evaluation_id = accepted(database, "superseded")
        take_over(database, evaluation_id)
        sender.join(timeout=30)
    [r] = answer
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/v1/evaluations/{evaluation_id}"
    assert "preference-applied" not in r.headers  # the caller did not ask for async
    assert r.json()["status"] == "pending"
    assert stored(database, evaluation_id)["votes"] == 0


@pytest.mark.postgres
def test_a_short_outage_delays_the_result_without_judging_again(
    tmp_path: Path, double: JudgeDouble
) -> None:
    """The database refuses connections while the judges think, and for a while after:
    the conclusion is retried (the lease is still held), so the evaluation is decided in
    its first run, its judges asked once."""
    import psycopg

    with scratch_postgres(os.environ[POSTGRES_ENV], prefix="quorum_outage") as url:
        name = make_url(url).database
        admin = plain(os.environ[POSTGRES_ENV])

        def allow(on: bool) -> None:
            with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {str(on).lower()}')
                if not on:
                    conn.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = %s AND pid <> pg_backend_pid()",
                        (name,),
                    )

        app = replica(url, tmp_path, double, deadline_s=6, grace_s=3)
        try:
            with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
                r = http.post("/v1/evaluations", headers={"Prefer": "respond-async"}, json=BODY)
                assert r.status_code == 202
                time.sleep(0.3)
                allow(False)  # from before the judges answer (1.5 s) to well after
                time.sleep(SLEEP_MS / 1000 + 1.5)
                allow(True)
                idle(app)
                row = stored(url, r.json()["id"])
        finally:
            allow(True)
    assert (row["status"], row["runs"], row["votes"], row["verdict_value"]) == ("decided", 1, 3, 4)


def test_an_evaluation_interrupted_too_often_is_failed_by_another_replica_and_counted(
    database: str, tmp_path: Path, double: JudgeDouble
) -> None:
    """A replica's sweep fails an evaluation whose lease ran out after its last allowed run,
    and counts it in `quorum_evaluations_failed_total` (no metric counted failures); the
    worker still judging it (a stalled replica) stores nothing over the failure."""
    from api.services.evaluator import MAX_RUNS
    from api.store.evaluations import EVALUATIONS
    from api.store.tables import utcnow

    first = replica(database, tmp_path, double, deadline_s=6, grace_s=0.3)
    with ServerThread(first) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        r = http.post("/v1/evaluations", headers={"Prefer": "respond-async"}, json=BODY)
        assert r.status_code == 202
        evaluation_id = r.json()["id"]
        # Interrupted as often as allowed, its lease run out: what a sweep finds after
        # replicas died in each run.
        sql(
            database,
            update(EVALUATIONS)
            .where(EVALUATIONS.c.id == evaluation_id)
            .values(runs=MAX_RUNS, lease_until=utcnow() - timedelta(seconds=1)),
        )
        (tmp_path / "second").mkdir()
        second = replica(database, tmp_path / "second", double, deadline_s=6, grace_s=0.3)
        with ServerThread(second) as other:  # its sweep runs once, at start-up
            deadline = time.monotonic() + 10
            while stored(database, evaluation_id)["status"] != "failed":
                assert time.monotonic() < deadline, "not failed by the second replica's sweep"
                time.sleep(0.05)
            metrics = httpx.get(f"{other.url}/metrics", timeout=10).text
        idle(first)
    assert 'quorum_evaluations_failed_total{panel="sleepy"} 1.0' in metrics
    row = stored(database, evaluation_id)
    assert (row["status"], row["votes"]) == ("failed", 0)
    assert f"interrupted {MAX_RUNS} times" in row["error"]
