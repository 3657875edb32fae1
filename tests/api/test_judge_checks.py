"""The judge check (issue 17, point 2): each judge's key and endpoint, at start-up, in
/readyz (cached, per panel) and in `quorum check-judges`; with the double up and down."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from judges import JudgeConfig
from judges.health import probe, probe_all
from judges.litellm_client import LiteLLMClient, configure_litellm
from tests.conftest import ServerThread, judge
from tests.doubles.judge_server import JudgeDouble


@pytest.fixture(scope="module")
def gone() -> str:
    """The base URL of a judge double that was started and stopped: nothing listens."""
    d = JudgeDouble().start()
    url = d.base_url
    d.stop()
    return url


def check(config: dict[str, Any]) -> Any:
    configure_litellm()
    return asyncio.run(probe(LiteLLMClient(), JudgeConfig.model_validate(config)))


def test_a_judge_that_answers_is_up_with_a_one_token_call(double: JudgeDouble) -> None:
    status = check(judge("ok", "fixed-3", double.base_url))
    assert status.up and status.reason is None and status.latency_ms is not None
    sent = [r for r in double.requests if r["model"] == "fixed-3"][-1]
    assert sent["max_tokens"] == 1 and "response_format" not in sent


def test_down_judges_say_why_in_one_readable_line(
    double: JudgeDouble, gone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("QUORUM_TEST_UNSET_KEY", raising=False)
    cases = [
        (judge("e", "status-500", double.base_url, max_retries=0), "server_error: HTTP 500"),
        (judge("t", "sleep-3000-honest", double.base_url, timeout_s=0.3), "timeout"),
        (judge("c", "honest", gone), "connection: "),
        (
            judge("k", "honest-keyed", double.base_url, api_key_env="QUORUM_TEST_UNSET_KEY"),
            "QUORUM_TEST_UNSET_KEY is not set",
        ),
        # no api_key_env, no api_base: the provider's own variable, as litellm reads it
        ({"name": "hosted", "model": "openai/gpt-4o-mini"}, "OPENAI_API_KEY is not set"),
    ]
    configure_litellm()
    found = asyncio.run(
        probe_all(LiteLLMClient(), [JudgeConfig.model_validate(c) for c, _ in cases])
    )
    for config, says in cases:
        status = found[str(config["name"])]
        assert not status.up and status.reason is not None and says in status.reason, status
        assert "\n" not in status.reason and " object at 0x" not in status.reason
    # a missing key is found without calling the endpoint
    assert not [r for r in double.requests if r["model"] == "honest-keyed"]


def write(path: Path, judges: list[dict[str, Any]], panels: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"judges": judges, "panels": panels}, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def checked(
    tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble, gone: str
) -> Iterator[ServerThread]:
    """A service whose `ok` panel has every judge up and whose `half` panel is one judge
    short of its quorum (a judge answering 500 and one whose server is gone)."""
    from api.app import create_app
    from api.settings import Settings

    root = tmp_path_factory.mktemp("checks")
    b = double.base_url
    config = write(
        root / "quorum.yaml",
        [
            judge("a", "honest", b, family="a"),
            judge("b", "honest", b, family="b"),
            judge("c", "honest", b, family="c"),
            judge("broken", "status-500", b, max_retries=0),
            judge("gone", "honest", gone, max_retries=0),
        ],
        [
            {"name": "ok", "rubric": "helpfulness", "judges": ["a", "b", "c"]},
            {"name": "half", "rubric": "helpfulness", "judges": ["a", "broken", "gone"]},
        ],
    )
    settings = Settings(
        database_url=f"sqlite:///{root / 'q.db'}", config=config, judge_check_interval_s=60
    )
    with ServerThread(create_app(settings), root / "q.db") as server:
        deadline = time.monotonic() + 30
        while "being checked" in httpx.get(f"{server.url}/readyz").text:
            assert time.monotonic() < deadline, "the first judge check never finished"
            time.sleep(0.1)
        yield server


def test_readiness_reports_each_panel_and_the_judges_down(
    checked: ServerThread, double: JudgeDouble
) -> None:
    calls = len(double.requests)
    r = httpx.get(f"{checked.url}/readyz")
    assert r.status_code == 503 and r.headers["retry-after"]
    problem = r.json()
    assert problem["type"].endswith("/judges-unavailable")
    half = problem["panels"]["half"]
    assert half["ready"] is False and half["judges_up"] == 1 and half["quorum"] == 2
    assert set(half["down"]) == {"broken", "gone"}
    assert "server_error: HTTP 500" in half["down"]["broken"]
    assert problem["panels"]["ok"]["ready"] is True
    assert "half (1 of 3 judges up, quorum 2" in problem["detail"]
    # per panel
    ok = httpx.get(f"{checked.url}/readyz", params={"panel": "ok"})
    assert ok.status_code == 200 and ok.json()["panels"]["ok"]["judges_up"] == 3
    assert httpx.get(f"{checked.url}/readyz", params={"panel": "half"}).status_code == 503
    assert httpx.get(f"{checked.url}/readyz", params={"panel": "nope"}).status_code == 404
    # the answer is the cached check: no judge was called by /readyz
    assert len(double.requests) == calls
    metrics = httpx.get(f"{checked.url}/metrics").text
    assert 'quorum_judge_up{judge="a"} 1.0' in metrics
    assert 'quorum_judge_up{judge="broken"} 0.0' in metrics


def test_start_up_with_every_judge_down_warns_one_line_per_judge(
    tmp_path: Path, gone: str, caplog: pytest.LogCaptureFixture
) -> None:
    from api.app import create_app
    from api.settings import Settings

    config = write(
        tmp_path / "quorum.yaml",
        [judge(f"j{i}", "honest", gone, max_retries=0) for i in range(3)],
        [{"name": "jury", "rubric": "helpfulness", "judges": ["j0", "j1", "j2"]}],
    )
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'q.db'}", config=config, judge_check_interval_s=60
    )
    with caplog.at_level(logging.WARNING, logger="quorum"), ServerThread(create_app(settings)):
        deadline = time.monotonic() + 30
        while not any("panel jury" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, caplog.text
            time.sleep(0.1)
    down = [r.getMessage() for r in caplog.records if " is down: " in r.getMessage()]
    assert len(down) == 3, down
    for i, line in enumerate(sorted(down)):
        assert line.startswith(f"judge j{i} (openai/honest) is down: connection: ")
        assert "\n" not in line and " object at 0x" not in line and line.endswith("panels: jury")
    (panel,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("panel jury")]
    assert "0 of 3 judges up (quorum 2)" in panel


def test_the_check_judges_command(tmp_path: Path, double: JudgeDouble, gone: str) -> None:
    def run(base: str) -> subprocess.CompletedProcess[str]:
        config = write(
            tmp_path / "q.yaml",
            [judge(f"j{i}", "honest", base, max_retries=0) for i in range(3)],
            [{"name": "jury", "rubric": "helpfulness", "judges": ["j0", "j1", "j2"]}],
        )
        return subprocess.run(
            [sys.executable, "-m", "api.cli", "check-judges", "--config", str(config)],
            env=os.environ,
            capture_output=True,
            text=True,
            timeout=120,
        )

    up = run(double.base_url)
    assert up.returncode == 0, up.stdout + up.stderr
    assert up.stdout.count("up    j") == 3
    assert "panel jury: 3 of 3 judges up, quorum 2: ready" in up.stdout
    down = run(gone)
    assert down.returncode == 1
    assert down.stdout.count("DOWN  j") == 3 and "connection: " in down.stdout
    assert "panel jury: 0 of 3 judges up, quorum 2: NOT READY" in down.stdout


def test_a_rate_limited_judge_is_up(double: JudgeDouble) -> None:
    """A 429 at the check means the endpoint answered and took the key."""
    status = check(judge("busy", "status-429", double.base_url))
    assert status.up and "rate limited" in (status.reason or "")
