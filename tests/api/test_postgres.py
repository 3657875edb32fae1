"""The same service on PostgreSQL: migrations, persistence, idempotency under a race."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

import httpx
import pytest

from tests.doubles.judge_server import JudgeDouble
from tests.support import ServerThread, write_config

pytestmark = pytest.mark.postgres


def test_service_on_postgres(postgres_url: str, tmp_path: Path, double: JudgeDouble) -> None:
    from api.app import create_app
    from api.settings import Settings

    settings = Settings(database_url=postgres_url, config=write_config(tmp_path / "q.yaml", double))
    with (
        ServerThread(create_app(settings)) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        assert http.get("/readyz").status_code == 200
        body = {"panel": "jury", "input": {"prompt": "p", "response": "[[q=4]]"}}
        ev = http.post("/v1/evaluations", json=body).json()
        assert ev["status"] == "decided" and ev["verdict"]["value"] == 4
        assert http.get(f"/v1/evaluations/{ev['id']}").json()["votes"] == ev["votes"]
        split = http.post("/v1/evaluations", json={**body, "panel": "split"}).json()
        assert split["status"] == "in_review" and split["review_id"]

        # Eight concurrent requests with one idempotency key: one evaluation, judged once.
        keyed = {**body, "idempotency_key": "race"}
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda _: http.post("/v1/evaluations", json=keyed), range(8)))
        assert {r.status_code for r in results} == {200}
        assert len({r.json()["id"] for r in results}) == 1


def test_twenty_concurrent_claimers_on_postgres(
    postgres_url: str, tmp_path: Path, double: JudgeDouble
) -> None:
    """FOR UPDATE SKIP LOCKED: no item handed to two reviewers, no verdict lost."""
    from api.app import create_app
    from api.settings import Settings
    from tests.support.reviews import claim_race, route_to_humans

    settings = Settings(database_url=postgres_url, config=write_config(tmp_path / "q.yaml", double))
    with (
        ServerThread(create_app(settings)) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        ids = route_to_humans(http, "split", 12)
        handed = claim_race(server.url, 20)
        assert len(handed) == 12
        for evaluation_id in ids:
            ev = http.get(f"/v1/evaluations/{evaluation_id}").json()
            assert ev["verdict"] == {"value": 2, "compliant": False, "source": "human"}
        r = http.post("/v1/reviews/claim", json={"reviewer": "late", "panel": "split"})
        assert r.status_code == 204
