"""Exact-duplicate vote caching (database and Redis): hits skip the call, count in metrics."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.doubles.judge_server import JudgeDouble
from tests.support import ServerThread, write_config

REDIS_ENV = "QUORUM_TEST_REDIS_URL"


def serve(root: Path, double: JudgeDouble, **settings: object) -> ServerThread:
    from api.app import create_app
    from api.settings import Settings

    db = root / "q.db"
    s = Settings(
        database_url=f"sqlite:///{db}", config=write_config(root / "q.yaml", double), **settings
    )
    return ServerThread(create_app(s), db)


def check_cache(url: str, double: JudgeDouble, backend: str) -> None:
    body = {"panel": "jury", "input": {"prompt": "p", "response": f"{uuid.uuid4()} [[q=4]]"}}
    with httpx.Client(base_url=url, timeout=30) as http:
        double.reset()
        first = http.post("/v1/evaluations", json=body).json()
        assert len(double.requests) == 3 and not any(v["cached"] for v in first["votes"])
        second = http.post("/v1/evaluations", json=body).json()
        assert len(double.requests) == 3  # no new call
        assert second["id"] != first["id"]
        assert all(v["cached"] and v["attempts"] == 0 for v in second["votes"])
        assert [v["value"] for v in second["votes"]] == [4, 4, 4]
        assert second["verdict"] == first["verdict"]
        other = http.post("/v1/evaluations", json={**body, "panel": "mean-jury"}).json()
        assert not other["votes"][1]["cached"]  # another judge: another key
        metrics = http.get("/metrics").text
    hits = f'quorum_vote_cache_requests_total{{backend="{backend}",result="hit"}}'
    assert f"{hits} 4.0" in metrics  # 3 in the repeat, and honest-1's in mean-jury


def test_database_cache(tmp_path: Path, double: JudgeDouble) -> None:
    with serve(tmp_path, double, vote_cache="database") as server:
        check_cache(server.url, double, "database")


@pytest.fixture
def redis_url() -> Iterator[str]:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"set {REDIS_ENV} to run the Redis cache test")
    yield url


def test_redis_cache(tmp_path: Path, double: JudgeDouble, redis_url: str) -> None:
    with serve(tmp_path, double, vote_cache="redis", redis_url=redis_url) as server:
        check_cache(server.url, double, "redis")


def test_cache_off_by_default(http: httpx.Client, double: JudgeDouble) -> None:
    body = {"panel": "jury", "input": {"prompt": "p", "response": "same [[q=3]]"}}
    http.post("/v1/evaluations", json=body)
    double.reset()
    again = http.post("/v1/evaluations", json=body).json()
    assert len(double.requests) == 3 and not any(v["cached"] for v in again["votes"])
