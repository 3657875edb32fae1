"""`quorum migrate` on PostgreSQL: one process at a time (the Kubernetes init containers of
replicas that start together), under an advisory lock, so none fails half-way."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psycopg
import pytest
from sqlalchemy.engine import make_url

from api.store.migrate import MIGRATION_LOCK

pytestmark = pytest.mark.postgres


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _migrate(url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "QUORUM_DATABASE_URL": url}
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "migrate"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _heads(url: str) -> list[str] | None:
    with psycopg.connect(_plain(url)) as conn:
        exists = conn.execute("SELECT to_regclass('alembic_version')").fetchone()
        if exists is None or exists[0] is None:
            return None
        return [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]


def test_migrate_waits_for_the_lock(postgres_url: str) -> None:
    with psycopg.connect(_plain(postgres_url), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        proc = _migrate(postgres_url)
        try:
            time.sleep(8)  # the CLI starts in 2-5 s; then it must wait, not migrate
            assert proc.poll() is None, proc.communicate()[0]
            assert _heads(postgres_url) is None, "migrated while another process held the lock"
        finally:
            holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
        out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    heads = _heads(postgres_url)
    assert heads is not None and len(heads) == 1


def test_concurrent_migrations_all_succeed(postgres_url: str) -> None:
    procs = [_migrate(postgres_url) for _ in range(3)]
    results = [(p.wait(timeout=180), p.communicate()[0]) for p in procs]
    for code, out in results:
        assert code == 0, out
        assert "database schema is up to date" in out
    heads = _heads(postgres_url)
    assert heads is not None and len(heads) == 1
