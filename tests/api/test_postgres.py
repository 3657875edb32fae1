"""The same service on PostgreSQL: migrations, persistence, idempotency under a race."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerThread, write_config
from tests.doubles.judge_server import JudgeDouble

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
