"""`quorum serve` as a child process on a SQLite file, for tests that kill and restart it,
and a read-only look at that file with the stdlib driver."""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

from tests.support.children import Child
from tests.support.ports import free_port


class Server(Child):
    """`python -m api.cli serve --config <config>` on a free port and the SQLite `database`;
    `env` adds to (or overrides) the environment."""

    def __init__(self, config: Path, database: Path, log: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "api.cli", "serve", "--config", str(config)]
        super().__init__(
            [*cmd, "--port", str(self.port)],
            log,
            env={**os.environ, "QUORUM_DATABASE_URL": f"sqlite:///{database}", **env},
        )

    def wait_ready(self, timeout: float = 60) -> None:
        self.wait_http(f"{self.url}/readyz", timeout)


def rows(database: Path) -> dict[str, dict[str, Any]]:
    """Evaluations by idempotency key, read with the stdlib driver, read-only."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
        db.row_factory = sqlite3.Row
        found = db.execute(
            "SELECT id, idempotency_key, status, error, runs, completed_at FROM evaluations"
        ).fetchall()
    return {r["idempotency_key"]: dict(r) for r in found if r["idempotency_key"]}
