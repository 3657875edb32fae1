"""`quorum serve`, the README's command, as a real process: start, judge, stop cleanly."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx

from tests.doubles.judge_server import JudgeDouble
from tests.support import write_config
from tests.support.quorum_process import Server


def test_quorum_serve_process(tmp_path: Path, double: JudgeDouble) -> None:
    config = write_config(tmp_path / "q.yaml", double)
    server = Server(config, tmp_path / "q.db", tmp_path / "serve.log")
    try:
        server.wait_ready()
        body = {"panel": "jury", "input": {"prompt": "p", "response": "[[q=3]]"}}
        ev = httpx.post(f"{server.url}/v1/evaluations", json=body, timeout=30).json()
        assert ev["verdict"]["value"] == 3 and ev["status"] == "decided"
        assert (tmp_path / "q.db").exists()
    finally:
        server.stop()  # SIGTERM, then a graceful shutdown
    # uvicorn re-raises the signal after a graceful shutdown, so the code is -SIGTERM.
    assert server.proc.returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in (tmp_path / "serve.log").read_text()
