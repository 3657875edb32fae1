"""`quorum serve` as a child process on a SQLite file, for tests that kill and restart it,
and a read-only look at that file with the stdlib driver."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`python -m api.cli serve` as a child process."""

    def __init__(self, config: Path, database: Path, log: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log.open("w")
        port = str(self.port)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--config", str(config), "--port", port],
            cwd=REPO,
            env={**os.environ, "QUORUM_DATABASE_URL": f"sqlite:///{database}", **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, f"server exited: see {self.log.name}"
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()


def rows(database: Path) -> dict[str, dict[str, Any]]:
    """Evaluations by idempotency key, read with the stdlib driver, read-only."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
        db.row_factory = sqlite3.Row
        found = db.execute(
            "SELECT id, idempotency_key, status, error, runs, completed_at FROM evaluations"
        ).fetchall()
    return {r["idempotency_key"]: dict(r) for r in found if r["idempotency_key"]}
