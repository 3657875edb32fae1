"""Shared fixtures: the loopback judge double and a real Quorum server over HTTP.

The helpers they are built from live in tests/support; `ServerThread`, `write_config`,
`judge` and `POSTGRES_ENV` are re-exported here for the tests that import them from here.
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# The judge check probes every judge at start-up: the double would count those calls (and
# spend a `flaky` judge's first failure). Off for every app and server a test starts;
# tests/api/test_judge_checks.py turns it on.
os.environ.setdefault("QUORUM_JUDGE_CHECK_INTERVAL_S", "0")

from collections.abc import Iterator

import httpx

# Imported before any test freezes the start-up heap (judges.heap): on import, hypothesis
# registers trio's PRNG and checks that something refers to it with gc.get_referrers, which
# does not see frozen objects, so a later import warns (an error under our filters).
import hypothesis  # noqa: F401
import pytest

from tests.doubles.judge_server import JudgeDouble
from tests.support import POSTGRES_ENV, ServerThread, judge, scratch_postgres, write_config

__all__ = ["POSTGRES_ENV", "ServerThread", "judge", "write_config"]


@pytest.fixture(scope="session")
def double() -> Iterator[JudgeDouble]:
    with JudgeDouble() as d:
        yield d


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
    with scratch_postgres(os.environ[POSTGRES_ENV], prefix="quorum_test") as url:
        yield url
