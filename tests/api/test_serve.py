"""`quorum serve`, the README's command, as a real process: start, judge, stop cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import write_config
from tests.doubles.judge_server import JudgeDouble


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_quorum_serve_process(tmp_path: Path, double: JudgeDouble) -> None:
    port = free_port()
    env = {**os.environ, "QUORUM_DATABASE_URL": f"sqlite:///{tmp_path / 'q.db'}"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "api.cli",
            "serve",
            "--config",
            str(write_config(tmp_path / "q.yaml", double)),
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.2)
        body = {"panel": "jury", "input": {"prompt": "p", "response": "[[q=3]]"}}
        ev = httpx.post(f"{url}/v1/evaluations", json=body, timeout=30).json()
        assert ev["verdict"]["value"] == 3 and ev["status"] == "decided"
        assert (tmp_path / "q.db").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    # uvicorn re-raises the signal after a graceful shutdown, so the code is -SIGTERM.
    assert proc.returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in out
