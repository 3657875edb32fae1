"""The database goes away under a running service: probes and writes answer 503 problem
details with Retry-After (never 500, never a hang), liveness stays up, the service recovers
by itself, and nothing is left half-written.

PostgreSQL: the app's own database refuses connections (`ALLOW_CONNECTIONS false` plus
`pg_terminate_backend`) while the shared server keeps running. SQLite: `chmod` cannot take
a file away from root, so the SQLite variant holds the write lock instead (another process
in `BEGIN EXCLUSIVE`, as a backup or a migration would), which is how SQLite becomes
unavailable for writing in practice.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.doubles.judge_server import JudgeDouble
from tests.support import POSTGRES_ENV, ServerThread, slow_config

PROBLEM_JSON = "application/problem+json"
CLIENT_TIMEOUT_S = 15
SLEEP_MS = 1500
"""The slow panel's judges: long enough to take the database away mid-evaluation."""
GOOD = {"panel": "jury", "input": {"prompt": "p", "response": "[[q=4]]"}}
SLOW = {"panel": "sleepy", "input": {"prompt": "p", "response": "[[q=2]]"}}


def serve(database_url: str, root: Path, double: JudgeDouble) -> ServerThread:
    from api.app import create_app
    from api.settings import Settings

    settings = Settings(
        database_url=database_url,
        config=slow_config(root / "quorum.yaml", double, SLEEP_MS, deadline_s=4),
        lease_grace_s=0.5,
        sweep_interval_s=0.5,
    )
    return ServerThread(create_app(settings))


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert body["status"] == 503 and body["title"] and body["detail"] and body["type"]


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def ready(http: httpx.Client) -> bool:
    return http.get("/readyz").status_code == 200


# -- PostgreSQL --------------------------------------------------------------------------


def dsn(database: str | None = None) -> str:
    """The PostgreSQL server of QUORUM_TEST_POSTGRES_URL, as a libpq URL for psycopg."""
    from sqlalchemy.engine import make_url

    url = make_url(os.environ[POSTGRES_ENV]).set(drivername="postgresql")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


@contextmanager
def postgres_admin() -> Iterator[Any]:
    """An autocommit connection to the server's own `test` database (never the app's)."""
    import psycopg

    with psycopg.connect(dsn(), autocommit=True, connect_timeout=5) as conn:
        yield conn


@contextmanager
def postgres_down(admin: Any, name: str) -> Iterator[None]:
    """No new connection to database `name`, and its open ones cut; restored on exit."""
    admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    try:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        yield
    finally:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


@pytest.mark.postgres
def test_postgres_goes_away_and_comes_back(
    postgres_url: str, tmp_path: Path, double: JudgeDouble
) -> None:
    from sqlalchemy.engine import make_url

    name = make_url(postgres_url).database
    assert name and name != "test"
    with (
        serve(postgres_url, tmp_path, double) as server,
        httpx.Client(base_url=server.url, timeout=CLIENT_TIMEOUT_S) as http,
        postgres_admin() as admin,
        ThreadPoolExecutor(1) as pool,
    ):
        assert ready(http)
        assert http.post("/v1/evaluations", json=GOOD).json()["status"] == "decided"

        # One evaluation is with its (slow) judges when the database goes away.
        in_flight = pool.submit(http.post, "/v1/evaluations", json=SLOW)
        wait_until(lambda: statuses(name, "sleepy") == ["pending"], 5, "the slow one stored")
        with postgres_down(admin, name):
            assert http.get("/healthz").status_code == 200
            assert_unavailable(http.get("/readyz"))
            for i in range(3):
                keyed = {**GOOD, "idempotency_key": f"down-{i}"}
                assert_unavailable(http.post("/v1/evaluations", json=keyed))
            assert_unavailable(http.get("/v1/evaluations/whatever"))
            # Its judges answer while the database is away: the result cannot be stored.
            assert_unavailable(in_flight.result(timeout=CLIENT_TIMEOUT_S))
            assert http.get("/healthz").status_code == 200

        wait_until(lambda: ready(http), 5, "/readyz to recover")
        after = http.post("/v1/evaluations", json={**GOOD, "idempotency_key": "after"})
        assert after.status_code == 200 and after.json()["status"] == "decided", after.text

        # Nothing half-written: the refused requests left no row; the interrupted one is
        # pending under its lease, then resumed by the sweeper and judged.
        assert keys(name) == {"after"}
        wait_until(
            lambda: statuses(name, "sleepy") == ["decided"],
            15,
            "the interrupted evaluation to be resumed",
        )
        assert app_rows(name, "SELECT runs FROM evaluations WHERE panel = 'sleepy'") == [(2,)]


def app_rows(name: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of the app's database, read through a connection of our own."""
    import psycopg

    with psycopg.connect(dsn(name), autocommit=True, connect_timeout=5) as conn:
        return list(conn.execute(sql, params).fetchall())


def statuses(name: str, panel: str) -> list[str]:
    return [r[0] for r in app_rows(name, "SELECT status FROM evaluations WHERE panel = %s", panel)]


def keys(name: str) -> set[str]:
    sql = "SELECT idempotency_key FROM evaluations WHERE idempotency_key IS NOT NULL"
    return {r[0] for r in app_rows(name, sql)}


# -- SQLite ------------------------------------------------------------------------------


@contextmanager
def sqlite_write_locked(database: Path) -> Iterator[None]:
    """Another process-like connection holds SQLite's write lock until exit."""
    conn = sqlite3.connect(database, isolation_level=None, timeout=5)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        yield
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def sqlite_rows(database: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as conn:
        return list(conn.execute(sql, params).fetchall())


def test_sqlite_write_lock_held_elsewhere(tmp_path: Path, double: JudgeDouble) -> None:
    database = tmp_path / "quorum.db"
    with (
        serve(f"sqlite:///{database}", tmp_path, double) as server,
        httpx.Client(base_url=server.url, timeout=CLIENT_TIMEOUT_S) as http,
    ):
        assert http.post("/v1/evaluations", json=GOOD).json()["status"] == "decided"
        with sqlite_write_locked(database):
            started = time.monotonic()
            refused = http.post("/v1/evaluations", json={**GOOD, "idempotency_key": "locked"})
            assert_unavailable(refused)
            # Bounded by SQLite's busy timeout (10 s), well inside the client's.
            assert time.monotonic() - started < CLIENT_TIMEOUT_S
            assert http.get("/healthz").status_code == 200
            assert ready(http)  # reads still work under WAL: the database is reachable
        after = http.post("/v1/evaluations", json={**GOOD, "idempotency_key": "after"})
        assert after.status_code == 200 and after.json()["status"] == "decided", after.text
        keys = sqlite_rows(
            database, "SELECT idempotency_key FROM evaluations WHERE idempotency_key IS NOT NULL"
        )
        assert {k for (k,) in keys} == {"after"}
