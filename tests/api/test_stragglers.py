"""A parallel panel answers soon after its quorum is in, over HTTP against a real server:
the straggler is cancelled after the grace and stored as a `timeout` vote, not dropped."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.doubles.judge_server import JudgeDouble
from tests.support import ServerThread, judge


def _server(root: Path, double: JudgeDouble, **panel: Any) -> ServerThread:
    from api.app import create_app
    from api.settings import Settings

    b = double.base_url
    config = {
        "judges": [
            judge("fast-1", "honest", b),
            judge("fast-2", "honest", b),
            judge("crawler", "sleep-20000-honest", b, timeout_s=60),
        ],
        "panels": [
            {
                "name": "p",
                "rubric": "helpfulness",
                "judges": ["fast-1", "fast-2", "crawler"],
                "deadline_s": 30,
                **panel,
            }
        ],
    }
    path = root / "q.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    db = root / "q.db"
    return ServerThread(create_app(Settings(database_url=f"sqlite:///{db}", config=path)), db)


@pytest.fixture
def server(tmp_path: Path, double: JudgeDouble) -> Iterator[ServerThread]:
    with _server(tmp_path, double, straggler_grace_s=0.5) as s:
        yield s


def test_the_panel_does_not_wait_for_the_deadline(server: ServerThread) -> None:
    body = {"panel": "p", "input": {"prompt": "Hi", "response": "[[q=4]] Hello"}}
    started = time.monotonic()
    r = httpx.post(f"{server.url}/v1/evaluations", json=body, timeout=60)
    elapsed = time.monotonic() - started
    assert r.status_code == 200, r.text
    ev = r.json()
    assert elapsed < 5  # the quorum came back in milliseconds; the deadline is 30 s
    assert ev["verdict"]["value"] == 4
    by_judge = {v["judge"]: v for v in ev["votes"]}
    assert set(by_judge) == {"fast-1", "fast-2", "crawler"}
    assert by_judge["crawler"]["error"] == "timeout"
    assert "straggler grace" in by_judge["crawler"]["detail"]
    assert ev["agreement"]["usable_votes"] == 2 and ev["agreement"]["total_votes"] == 3
    assert server.database is not None
    with sqlite3.connect(f"file:{server.database}?mode=ro", uri=True) as conn:
        stored = dict(conn.execute("SELECT judge, error FROM votes").fetchall())
    assert stored == {"fast-1": None, "fast-2": None, "crawler": "timeout"}
