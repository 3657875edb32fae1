"""Two verdicts on one claim from two replicas: the loser's 409 says what the winner left
(the item decided), not the state it read before the race. On PostgreSQL, where the
loser's conditional update waits for the winner's row lock and then matches nothing."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.doubles.judge_server import JudgeDouble
from tests.support import POSTGRES_ENV, ServerThread, plain, scratch_postgres, write_config
from tests.support.reviews import route_to_humans

pytestmark = pytest.mark.postgres


def test_the_loser_of_a_verdict_race_hears_it_was_decided(
    tmp_path: Path, double: JudgeDouble
) -> None:
    import psycopg

    from api.app import create_app
    from api.settings import Settings

    with scratch_postgres(os.environ[POSTGRES_ENV], prefix="quorum_verdicts") as url:
        settings = Settings(database_url=url, config=write_config(tmp_path / "q.yaml", double))
        with (
            ServerThread(create_app(settings)) as server,
            httpx.Client(base_url=server.url, timeout=30) as http,
            psycopg.connect(plain(url)) as winner,  # the other replica's transaction
        ):
            route_to_humans(http, "split", 1)
            item = http.post("/v1/reviews/claim", json={"reviewer": "rita", "panel": "split"})
            item_id = item.json()["id"]
            winner.execute("SELECT 1 FROM review_items WHERE id = %s FOR UPDATE", (item_id,))
            answer: list[httpx.Response] = []
            verdict = {"reviewer": "rita", "value": 5}
            loser = threading.Thread(
                target=lambda: answer.append(
                    http.post(f"/v1/reviews/{item_id}/verdict", json=verdict)
                )
            )
            loser.start()
            with psycopg.connect(plain(url), autocommit=True) as watch:
                deadline = time.monotonic() + 10
                while not watch.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND query LIKE 'UPDATE review_items%%'"
                ).fetchone():
                    assert time.monotonic() < deadline, "the verdict never reached the lock"
                    time.sleep(0.02)
            winner.execute(
                "UPDATE review_items SET status = 'decided', claimed_by = NULL WHERE id = %s",
                (item_id,),
            )
            winner.commit()
            loser.join(timeout=30)
    [r] = answer
    assert r.status_code == 409
    assert r.json()["detail"] == (
        f"review item {item_id} is already decided: it takes no more decisions"
    )
