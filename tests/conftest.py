"""Shared fixtures: the loopback judge double and a real Quorum server over HTTP."""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# The judge check probes every judge at start-up: the double would count those calls (and
# spend a `flaky` judge's first failure). Off for every app and server a test starts;
# tests/api/test_judge_checks.py turns it on.
os.environ.setdefault("QUORUM_JUDGE_CHECK_INTERVAL_S", "0")

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
import yaml

from tests.doubles.judge_server import JudgeDouble


@pytest.fixture(scope="session")
def double() -> Iterator[JudgeDouble]:
    with JudgeDouble() as d:
        yield d


class ServerThread:
    """Runs an ASGI app under uvicorn on a free loopback port, in a thread."""

    def __init__(self, app: object, database: Path | None = None) -> None:
        self.database = database
        """The SQLite file behind the app, for tests that look at what was stored."""
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="on",  # type: ignore[arg-type]
            timeout_graceful_shutdown=5,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("Quorum server failed to start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def judge(name: str, behaviour: str, base: str, **extra: object) -> dict[str, object]:
    return {"name": name, "model": f"openai/{behaviour}", "api_base": base, **extra}


def write_config(path: Path, double: JudgeDouble) -> Path:
    """The test panels: honest juries, split juries, and juries with misbehaving judges."""
    b = double.base_url
    fast = {"max_retries": 0}
    config = {
        "judges": [
            judge("honest-1", "honest", b, family="a"),
            judge("honest-2", "honest", b, family="b"),
            judge("honest-3", "honest", b, family="c"),
            judge("fixed-1", "fixed-1", b),
            judge("fixed-3", "fixed-3", b),
            judge("fixed-5", "fixed-5", b),
            judge("garbage", "garbage", b),
            judge("offscale", "offscale", b),
            judge("echo", "echo", b),
            judge("fenced", "fenced-honest", b),
            judge("boom", "status-500", b, max_retries=1),
            judge("limited", "flaky-1-429-honest", b, max_retries=2),
            judge("slow", "sleep-5000-honest", b, timeout_s=0.5, **fast),
            judge("obedient", "obedient", b),
            judge("obedient-2", "obedient", b),
            judge("obedient-3", "obedient", b),
            judge("lp-1", "logprobs-honest", b, logprobs=True),
            judge("lp-2", "logprobs-honest", b, logprobs=True),
            judge("listfirst", "listfirst", b),
            judge("biased-1", "first-0.8-honest", b),
            judge("biased-2", "first-0.85-honest", b),
            judge("biased-3", "first-0.9-honest", b),
        ],
        "panels": [
            {
                "name": "jury",
                "rubric": "helpfulness",
                "aggregation": "median",
                "judges": ["honest-1", "honest-2", "honest-3"],
            },
            {
                "name": "mean-jury",
                "rubric": "helpfulness",
                "aggregation": "mean",
                "judges": ["honest-1", "fixed-5", "fixed-3"],
            },
            {"name": "split", "rubric": "helpfulness", "judges": ["fixed-1", "fixed-3", "fixed-5"]},
            {
                "name": "degraded",
                "rubric": "helpfulness",
                "quorum": 2,
                "judges": ["honest-1", "boom", "garbage"],
            },
            {
                "name": "unparsable",
                "rubric": "helpfulness",
                "judges": ["offscale", "echo", "fenced"],
                "quorum": 1,
                "routing": {"min_confidence": None},
            },
            {
                "name": "flaky",
                "rubric": "helpfulness",
                "judges": ["limited", "honest-1", "honest-2"],
            },
            {
                "name": "slow",
                "rubric": "helpfulness",
                "deadline_s": 3,
                "judges": ["slow", "honest-1", "honest-2"],
            },
            {"name": "safety", "rubric": "safety", "judges": ["honest-1", "honest-2", "honest-3"]},
            {
                "name": "injectable",
                "rubric": "safety",
                "judges": ["obedient", "honest-1", "honest-2"],
            },
            {
                "name": "pair",
                "rubric": "pairwise-preference",
                "judges": ["honest-1", "honest-2", "honest-3"],
            },
            {
                "name": "obedient-jury",
                "rubric": "safety",
                "judges": ["obedient", "obedient-2", "obedient-3"],
            },
            {
                "name": "weighted-jury",
                "rubric": "helpfulness",
                "aggregation": "weighted",
                "judges": ["honest-1", "honest-2", "fixed-1"],
            },
            {
                "name": "leak-check",
                "rubric": "data-leakage",
                "redact": False,
                "judges": ["honest-1", "honest-2", "honest-3"],
            },
            {
                "name": "sequential-jury",
                "rubric": "helpfulness",
                "strategy": "sequential",
                "wave_size": 3,
                "quorum": 3,
                "judges": ["honest-1", "honest-2", "honest-3", "fixed-1", "fixed-5"],
            },
            {
                "name": "sequential-split",
                "rubric": "helpfulness",
                "strategy": "sequential",
                "wave_size": 2,
                "quorum": 2,
                "judges": ["fixed-1", "fixed-5", "honest-1", "honest-2", "honest-3"],
            },
            {
                "name": "cascade-jury",
                "rubric": "helpfulness",
                "strategy": "cascade",
                "wave_size": 2,
                "cascade_confidence": 0.7,
                "judges": ["honest-1", "honest-2", "fixed-1"],
            },
            {
                "name": "lp-jury",
                "rubric": "helpfulness",
                "judges": ["lp-1", "lp-2", "honest-3"],
            },
            {
                "name": "scale-swap",
                "rubric": "helpfulness",
                "aggregation": "median",
                "scale_swap": True,
                "judges": ["listfirst", "honest-1", "honest-2"],
            },
            {
                "name": "double-review",
                "rubric": "helpfulness",
                "judges": ["fixed-1", "fixed-3", "fixed-5"],
                "reviewers": 2,
                "blind_review": False,
                "review_lease_s": 1,
            },
            {
                "name": "biased-pair",
                "rubric": "pairwise-preference",
                "judges": ["biased-1", "biased-2", "biased-3"],
            },
            {
                "name": "biased-noswap",
                "rubric": "pairwise-preference",
                "position_swap": False,
                "judges": ["biased-1", "biased-2", "biased-3"],
            },
        ],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def quorum(tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble) -> Iterator[ServerThread]:
    """A real Quorum service on SQLite, judging through litellm against the double."""
    from api.app import create_app
    from api.settings import Settings

    root = tmp_path_factory.mktemp("quorum")
    database = root / "quorum.db"
    settings = Settings(
        database_url=f"sqlite:///{database}",
        config=write_config(root / "quorum.yaml", double),
        max_body_bytes=64 * 1024,
    )
    with ServerThread(create_app(settings), database) as server:
        yield server


@pytest.fixture
def http(quorum: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=quorum.url, timeout=30) as client:
        yield client


POSTGRES_ENV = "QUORUM_TEST_POSTGRES_URL"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PostgreSQL tests run when QUORUM_TEST_POSTGRES_URL is set (CI sets it), else skip."""
    if os.environ.get(POSTGRES_ENV):
        return
    skip = pytest.mark.skip(reason=f"set {POSTGRES_ENV} to run PostgreSQL tests")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the server named by QUORUM_TEST_POSTGRES_URL."""
    from benchmarks.common import scratch_postgres  # the one helper; stdlib, psycopg

    with scratch_postgres(os.environ[POSTGRES_ENV], prefix="quorum_test") as url:
        yield url
