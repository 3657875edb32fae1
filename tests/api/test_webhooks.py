"""Webhooks over HTTP: signed deliveries to a receiver on loopback, retried, recorded, and
re-sent when a human verdict changes the final verdict."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.services.webhooks import sign, verify
from tests.doubles.judge_server import JudgeDouble
from tests.support import ServerThread, write_config
from tests.support.webhooks import Receiver

SECRET = "whsec_test_secret"


@pytest.fixture(scope="module")
def hooked(
    tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble
) -> Iterator[tuple[httpx.Client, Receiver, str, Path]]:
    from api.app import create_app
    from api.settings import Settings

    root = tmp_path_factory.mktemp("hooks")
    receiver = Receiver()
    db = root / "q.db"
    settings = Settings(
        database_url=f"sqlite:///{db}",
        config=write_config(root / "q.yaml", double),
        webhook_secret=SECRET,
        webhook_allow=["127.0.0.1/32"],  # the receiver is on loopback
    )
    with (
        ServerThread(receiver.app) as sink,
        ServerThread(create_app(settings), db) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        yield http, receiver, f"{sink.url}/hook", db


def test_completed_evaluation_is_pushed_and_signed(
    hooked: tuple[httpx.Client, Receiver, str, Path],
) -> None:
    http, receiver, url, _ = hooked
    receiver.got.clear()
    ev = http.post(
        "/v1/evaluations",
        json={
            "panel": "jury",
            "input": {"prompt": "p", "response": "[[q=4]]"},
            "webhook_url": url,
        },
    ).json()
    [msg] = receiver.wait(1)
    assert msg["event"] == "evaluation.completed"
    assert msg["json"]["evaluation"]["id"] == ev["id"]
    assert msg["json"]["evaluation"]["verdict"]["value"] == 4
    assert verify(SECRET, msg["body"], msg["signature"])
    assert not verify("another-secret", msg["body"], msg["signature"])
    assert not verify(SECRET, msg["body"] + b" ", msg["signature"])  # tampered
    stale = sign(SECRET, msg["body"], int(time.time()) - 3600)
    assert not verify(SECRET, msg["body"], stale)  # replayed an hour later


def test_human_verdict_is_pushed_again(hooked: tuple[httpx.Client, Receiver, str, Path]) -> None:
    http, receiver, url, _ = hooked
    receiver.got.clear()
    ev = http.post(
        "/v1/evaluations",
        json={
            "panel": "split",
            "input": {"prompt": "p", "response": "r"},
            "webhook_url": url,
        },
    ).json()
    receiver.wait(1)
    item = http.post("/v1/reviews/claim", json={"reviewer": "rita", "panel": "split"}).json()
    assert item["evaluation_id"] == ev["id"]
    http.post(f"/v1/reviews/{item['id']}/verdict", json={"reviewer": "rita", "value": 5})
    first, second = receiver.wait(2)
    assert first["json"]["evaluation"]["status"] == "in_review"
    assert second["event"] == "evaluation.verdict_changed"
    assert second["json"]["evaluation"]["verdict"] == {
        "value": 5,
        "compliant": True,
        "source": "human",
    }
    assert verify(SECRET, second["body"], second["signature"])


def test_failed_delivery_is_retried_and_recorded(
    hooked: tuple[httpx.Client, Receiver, str, Path],
) -> None:
    http, receiver, url, db = hooked
    receiver.got.clear()
    receiver.fail_first = 1
    r = http.post(
        "/v1/evaluations",
        headers={"Prefer": "respond-async"},
        json={
            "panel": "jury",
            "input": {"prompt": "p", "response": "[[q=2]]"},
            "webhook_url": url,
        },
    )
    assert r.status_code == 202
    [msg] = receiver.wait(1)
    assert msg["json"]["evaluation"]["verdict"]["value"] == 2
    query = "SELECT status, attempts, last_status FROM webhook_deliveries WHERE evaluation_id = ?"
    deadline = time.monotonic() + 10
    while True:  # the receiver answers before the sender records the outcome
        with sqlite3.connect(db) as conn:
            row = conn.execute(query, (r.json()["id"],)).fetchone()
        if row[0] != "pending" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert row == ("delivered", 2, 204)


def test_bad_webhook_url_is_422(hooked: tuple[httpx.Client, Receiver, str, Path]) -> None:
    http, _, _, _ = hooked
    r = http.post(
        "/v1/evaluations",
        json={
            "panel": "jury",
            "input": {"prompt": "p", "response": "x"},
            "webhook_url": "ftp://x",
        },
    )
    assert r.status_code == 422


def test_a_claimed_attempt_is_counted_before_it_is_sent(tmp_path: Path) -> None:
    """A replica that dies mid-delivery has made an attempt: the claim counts it, so the
    re-send after the claim runs out is the second attempt, as the row says."""
    import asyncio
    from datetime import timedelta

    from api.services.webhooks import delivery
    from api.store.engine import make_engine, make_session_factory
    from api.store.migrate import upgrade
    from api.store.tables import utcnow
    from api.store.webhooks import WebhookRepository

    database = f"sqlite:///{tmp_path / 'q.db'}"
    upgrade(database)

    async def claim_twice() -> list[int]:
        engine = make_engine(database)
        sessions = make_session_factory(engine)
        counted = []
        try:
            async with sessions() as session:
                session.add(
                    delivery("e" * 32, "http://127.0.0.1/hook", "evaluation.completed", {}, None)
                )
                await session.commit()
            for _ in range(2):  # claimed, then the claimer dies before recording anything
                async with sessions() as session:
                    repo = WebhookRepository(session)
                    [due] = await repo.due(utcnow() + timedelta(minutes=2), 10)
                    read = due.attempts
                    assert await repo.claim(due, utcnow() + timedelta(seconds=60))
                    # The sender counts this attempt from the row as read: a claim that
                    # also raised the loaded row's count made it count every attempt twice.
                    assert due.attempts == read
                    await session.commit()
                async with sessions() as session:
                    [stored] = await WebhookRepository(session).due(
                        utcnow() + timedelta(hours=1), 10
                    )
                    counted.append(stored.attempts)
        finally:
            await engine.dispose()
        return counted

    assert asyncio.run(claim_twice()) == [1, 2]
