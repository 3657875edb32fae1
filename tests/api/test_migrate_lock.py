"""`quorum migrate` on PostgreSQL: one process at a time (the Kubernetes init containers of
replicas that start together), under an advisory lock, so none fails half-way."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import psycopg
import pytest

from api.store.migrate import MIGRATION_LOCK
from tests.support import Child, plain

pytestmark = pytest.mark.postgres


def _migrate(url: str, log: Path) -> Child:
    env = {**os.environ, "QUORUM_DATABASE_URL": url}
    return Child([sys.executable, "-m", "api.cli", "migrate"], log, env)


def _heads(url: str) -> list[str] | None:
    with psycopg.connect(plain(url)) as conn:
        exists = conn.execute("SELECT to_regclass('alembic_version')").fetchone()
        if exists is None or exists[0] is None:
            return None
        return [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]


def test_migrate_waits_for_the_lock(postgres_url: str, tmp_path: Path) -> None:
    with psycopg.connect(plain(postgres_url), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        with _migrate(postgres_url, tmp_path / "migrate.log") as child:
            try:
                time.sleep(8)  # the CLI starts in 2-5 s; then it must wait, not migrate
                assert child.proc.poll() is None, child.output()
                assert _heads(postgres_url) is None, "migrated while another process held the lock"
            finally:
                holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
            code = child.wait(timeout=120)
    assert code == 0, child.output()
    heads = _heads(postgres_url)
    assert heads is not None and len(heads) == 1


def test_concurrent_migrations_all_succeed(postgres_url: str, tmp_path: Path) -> None:
    children = [_migrate(postgres_url, tmp_path / f"migrate-{i}.log") for i in range(3)]
    try:
        results = [(c.wait(timeout=180), c.output()) for c in children]
    finally:
        for c in children:
            c.stop()
    for code, out in results:
        assert code == 0, out
        assert "database schema is up to date" in out
    heads = _heads(postgres_url)
    assert heads is not None and len(heads) == 1
