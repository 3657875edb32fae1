"""Replaying an idempotency key while its evaluation is still pending: a synchronous
request (no `Prefer: respond-async`) waits for it to conclude, on the replica judging it
or on another one, and answers the verdict, never a pending 200. The 202 it gives when
the wait ends first is tests/api/test_replica_fencing.py. On SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.doubles.judge_server import JudgeDouble
from tests.support import POSTGRES_ENV, ServerThread, scratch_postgres, slow_config

BODY = {"panel": "sleepy", "input": {"prompt": "p", "response": "fine [[q=4]]"}}
SLEEP_MS = 1500


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'q.db'}"
        return
    with scratch_postgres(os.environ[POSTGRES_ENV], prefix="quorum_replay") as url:
        yield url


def replica(url: str, config: Path) -> Any:
    from api.app import create_app
    from api.settings import Settings

    return create_app(Settings(database_url=url, config=config))


def accepted(url: str, key: str) -> None:
    """Return once an evaluation is stored under idempotency `key`."""
    from api.store.engine import make_engine
    from api.store.evaluations import EVALUATIONS

    async def find() -> bool:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                query = select(EVALUATIONS.c.id).where(EVALUATIONS.c.idempotency_key == key)
                return (await conn.execute(query)).first() is not None
        finally:
            await engine.dispose()

    deadline = time.monotonic() + 10
    while not asyncio.run(find()):
        assert time.monotonic() < deadline, f"nothing stored under {key!r}"
        time.sleep(0.02)


def test_a_sync_replay_on_another_replica_waits_for_the_verdict(
    database: str, tmp_path: Path, double: JudgeDouble
) -> None:
    config = slow_config(tmp_path / "q.yaml", double, SLEEP_MS, 6)
    body = {**BODY, "idempotency_key": "twin"}
    first: list[httpx.Response] = []
    with (
        ServerThread(replica(database, config)) as one,
        ServerThread(replica(database, config)) as two,
        httpx.Client(timeout=30) as http,
    ):
        sender = threading.Thread(
            target=lambda: first.append(http.post(f"{one.url}/v1/evaluations", json=body))
        )
        sender.start()
        accepted(database, "twin")  # replica one is judging it
        again = http.post(f"{two.url}/v1/evaluations", json=body)
        sender.join(timeout=30)
        batch = http.post(f"{two.url}/v1/evaluations/batch", json={"items": [body]}).json()
    assert again.status_code == 200, again.text
    ev = again.json()
    assert ev["id"] == first[0].json()["id"]
    assert ev["status"] == "decided" and ev["verdict"]["value"] == 4 and len(ev["votes"]) == 3
    [item] = batch["data"]
    assert item["status"] == 200 and item["evaluation"]["status"] == "decided"


def test_a_sync_replay_of_an_async_request_waits_for_its_judging(
    database: str, tmp_path: Path, double: JudgeDouble
) -> None:
    config = slow_config(tmp_path / "q.yaml", double, SLEEP_MS, 6)
    body = {**BODY, "idempotency_key": "later"}
    with (
        ServerThread(replica(database, config)) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        queued = http.post("/v1/evaluations", json=body, headers={"Prefer": "respond-async"})
        assert queued.status_code == 202 and queued.json()["status"] == "pending"
        started = time.monotonic()
        waited = http.post("/v1/evaluations", json=body)
        took = time.monotonic() - started
    assert waited.status_code == 200
    assert waited.json()["id"] == queued.json()["id"]
    assert waited.json()["status"] == "decided" and waited.json()["verdict"]["value"] == 4
    assert took < SLEEP_MS / 1000 + 2  # it awaited the judging, not a poll of a lease
