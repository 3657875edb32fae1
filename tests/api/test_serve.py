"""`quorum serve`, the README's command, as a real process: start, judge, stop cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.doubles.judge_server import JudgeDouble
from tests.support import write_config
from tests.support.quorum_process import Server

REPO = Path(__file__).resolve().parents[2]


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


_START_UP = """
import gc, json, sys
from fastapi.testclient import TestClient
from api.app import create_app
from api.settings import Settings

app = create_app(Settings(database_url=sys.argv[1], config=sys.argv[2]))
with TestClient(app) as client:
    assert client.get("/healthz").status_code == 200
    tracked = {id(obj) for obj in gc.get_objects()}
    state = app.state
    print(json.dumps([id(state.service) in tracked, id(state.config) in tracked]))
"""


def test_the_service_freezes_its_start_up_heap(tmp_path: Path, double: JudgeDouble) -> None:
    """In a fresh process, what start-up built is out of the cyclic collector's way
    (`judges.heap`): the service and its config are no longer tracked."""
    config = write_config(tmp_path / "q.yaml", double)
    out = subprocess.run(
        [sys.executable, "-c", _START_UP, f"sqlite:///{tmp_path / 'q.db'}", str(config)],
        cwd=REPO,
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.splitlines()[0]) == [False, False]
