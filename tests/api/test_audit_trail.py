"""The audit event log: who did what, chained by hash; `quorum audit verify` names every
tampered record, deleted row and edited event; the export carries the events by time."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ServerThread, write_config
from tests.doubles.judge_server import JudgeDouble


def cli(db: Path, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QUORUM_DATABASE_URL": f"sqlite:///{db}"}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args, "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


class Trail:
    def __init__(self, url: str, keys: dict[str, str], ids: dict[str, str], db: Path, config: Path):
        self.url, self.keys, self.ids, self.db, self.config = url, keys, ids, db, config
        self.human = 0

    def call(self, method: str, path: str, role: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys[role]}"}
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kw)

    def copy(self, tmp_path: Path, name: str = "copy.db") -> Path:
        """A consistent copy of the live database, to tamper with."""
        target = tmp_path / name
        with sqlite3.connect(self.db) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        return target

    def events(self, **params: str) -> list[dict[str, Any]]:
        r = self.call("GET", "/v1/audit/export", "admin", params={"stream": "events", **params})
        assert r.status_code == 200, r.text
        return [json.loads(line) for line in r.text.splitlines()]


@pytest.fixture(scope="module")
def trail(tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble) -> Iterator[Trail]:
    from api.app import create_app
    from api.services.keys import create_key
    from api.settings import Settings
    from api.store.engine import make_engine, make_session_factory
    from api.store.migrate import upgrade

    root = tmp_path_factory.mktemp("trail")
    db = root / "q.db"
    upgrade(f"sqlite:///{db}")
    specs = {
        "app": ("shop", ["evaluate"]),
        "reviewer": ("ann", ["review"]),
        "admin": ("ops", ["evaluate", "review", "admin"]),
    }

    async def make() -> tuple[dict[str, str], dict[str, str]]:
        engine = make_engine(f"sqlite:///{db}")
        sessions = make_session_factory(engine)
        keys, ids = {}, {}
        for role, (name, scopes) in specs.items():
            # One tenant: the reviewer reviews what the app submitted; the auditor's admin
            # key sees every tenant (the event chain spans them all).
            tenant = "*" if role == "admin" else "acme"
            keys[role], row = await create_key(sessions, name, scopes, None, None, tenant=tenant)
            ids[role] = row.id
        await engine.dispose()
        return keys, ids

    keys, ids = asyncio.run(make())
    config = write_config(root / "q.yaml", double)
    settings = Settings(database_url=f"sqlite:///{db}", config=config)
    with ServerThread(create_app(settings), db) as server:
        t = Trail(server.url, keys, ids, db, config)
        # Traffic: one auto-decided evaluation, one routed to humans and overridden.
        assert t.call("POST", "/v1/evaluations", "app", json=AUTO).status_code == 200
        routed = t.call("POST", "/v1/evaluations", "app", json=ROUTED).json()
        assert routed["routing"]["decision"] == "human"
        panel_value = (routed["verdict"] or {}).get("value")
        human = 5 if panel_value != 5 else 1  # a human verdict that replaces the panel's
        item = t.call("POST", "/v1/reviews/claim", "reviewer", json=ANN).json()
        done = t.call(
            "POST",
            f"/v1/reviews/{item['id']}/verdict",
            "reviewer",
            json={"reviewer": "ann", "value": human},
        )
        assert done.status_code == 200, done.text
        t.ids["routed"], t.ids["review"] = routed["id"], item["id"]
        t.human = human
        yield t


AUTO = {"panel": "jury", "input": {"prompt": "p", "response": "[[q=4]]"}}
ROUTED = {"panel": "split", "input": {"prompt": "p", "response": "r"}}
ANN = {"reviewer": "ann", "panel": "split"}


def verify(db: Path, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return cli(db, config, "audit", "verify", *args)


def test_events_say_who_did_what_with_before_and_after(trail: Trail) -> None:
    events = trail.events()
    kinds = [e["event"] for e in events]
    assert kinds[:3] == ["key_created"] * 3
    assert {e["actor"] for e in events[:3]} == {"cli"}
    mine = [e for e in events if e["evaluation_id"] == trail.ids["routed"]]
    assert [e["event"] for e in mine] == [
        "submitted",
        "judged",
        "routed",
        "claimed",
        "decided",
        "overridden",
    ]
    submitted, judged, routed, claimed, decided, overridden = mine
    assert (submitted["actor_key_id"], submitted["actor"]) == (trail.ids["app"], "shop")
    assert judged["actor"] == "worker" and judged["after"]["routing"] == "human"
    assert routed["subject_type"] == "review" and routed["subject_id"] == trail.ids["review"]
    assert (claimed["actor_key_id"], claimed["actor"]) == (trail.ids["reviewer"], "ann")
    human = trail.human
    assert decided["after"]["value"] == human and decided["after"]["outcome"] == "final"
    panel_value = judged["after"]["verdict"]["value"]
    assert overridden["before"]["value"] == panel_value != human
    assert overridden["before"]["source"] == "panel"
    assert (overridden["after"]["value"], overridden["after"]["source"]) == (human, "human")
    assert all(len(e["record_sha256"]) == 64 for e in mine)


def test_the_chain_links_every_event(trail: Trail) -> None:
    from api.store.audit_log import GENESIS, event_hash

    events = trail.events()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    prev = GENESIS
    for e in events:
        assert e["prev_hash"] == prev
        assert event_hash({**e, "at": datetime.fromisoformat(e["at"])}) == e["hash"]
        prev = e["hash"]


def test_export_carries_keys_and_the_overridden_verdict(trail: Trail) -> None:
    r = trail.call("GET", "/v1/audit/export", "admin")
    by_id = {line["item"]: line for line in map(json.loads, r.text.splitlines())}
    audit = by_id[trail.ids["routed"]]["audit"]
    assert audit["submitted_by"] == {"key_id": trail.ids["app"], "name": "shop"}
    assert audit["verdict"]["value"] == trail.human and audit["verdict"]["source"] == "human"
    panel = audit["panel_verdict"]
    assert panel["source"] == "panel" and panel["value"] != trail.human
    decision = audit["review"]["decisions"][0]
    assert decision["decided_by"] == {"key_id": trail.ids["reviewer"], "name": "ann"}
    assert trail.events()[-1]["event"] == "exported"
    assert trail.events()[-1]["actor"] == "ops"


def test_a_late_decision_is_in_the_export_of_its_window(trail: Trail) -> None:
    old = trail.call("POST", "/v1/evaluations", "app", json=ROUTED).json()
    time.sleep(0.05)
    window = datetime.now(UTC).isoformat()
    item = trail.call("POST", "/v1/reviews/claim", "reviewer", json=ANN).json()
    assert item["evaluation_id"] == old["id"]
    trail.call(
        "POST",
        f"/v1/reviews/{item['id']}/verdict",
        "reviewer",
        json={"reviewer": "ann", "value": 3},
    )
    r = trail.call("GET", "/v1/audit/export", "admin", params={"since": window})
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [line["item"] for line in lines] == [old["id"]]  # created before the window
    assert lines[0]["human"] == [3]
    events = trail.events(since=window)
    assert "submitted" not in {e["event"] for e in events}
    assert {"claimed", "decided"} <= {e["event"] for e in events}


def test_verify_passes_on_an_untouched_database(trail: Trail, tmp_path: Path) -> None:
    proc = verify(trail.copy(tmp_path), trail.config)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 finding(s)" in proc.stderr


def tamper(db: Path, *statements: tuple[str, tuple[Any, ...]]) -> None:
    with sqlite3.connect(db) as conn:
        for sql, params in statements:
            assert conn.execute(sql, params).rowcount >= 1, sql


def test_verify_names_a_decision_changed_with_sql(trail: Trail, tmp_path: Path) -> None:
    db = trail.copy(tmp_path)
    sql = "UPDATE review_decisions SET value = '2' WHERE review_item_id = ?"
    tamper(db, (sql, (trail.ids["review"],)))
    proc = verify(db, trail.config)
    assert proc.returncode == 1
    assert f"record-changed: review {trail.ids['review']}" in proc.stdout
    assert proc.stdout.count("\n") == 1, proc.stdout  # that one, nothing else


def test_verify_names_a_verdict_changed_with_sql(trail: Trail, tmp_path: Path) -> None:
    db = trail.copy(tmp_path)
    sql = "UPDATE evaluations SET verdict_value = '2' WHERE id = ?"
    tamper(db, (sql, (trail.ids["routed"],)))
    proc = verify(db, trail.config)
    assert proc.returncode == 1
    assert f"record-changed: evaluation {trail.ids['routed']}" in proc.stdout


def test_verify_names_deleted_rows(trail: Trail, tmp_path: Path) -> None:
    db = trail.copy(tmp_path)
    routed, review = trail.ids["routed"], trail.ids["review"]
    tamper(
        db,
        ("DELETE FROM review_decisions WHERE review_item_id = ?", (review,)),
        ("DELETE FROM review_items WHERE id = ?", (review,)),
        ("DELETE FROM votes WHERE evaluation_id = ?", (routed,)),
        ("DELETE FROM evaluations WHERE id = ?", (routed,)),
    )
    proc = verify(db, trail.config)
    assert proc.returncode == 1
    assert f"record-deleted: evaluation {routed}" in proc.stdout
    assert f"record-deleted: review {review}" in proc.stdout


def test_verify_names_an_edited_or_deleted_event(trail: Trail, tmp_path: Path) -> None:
    from api.store.audit_log import event_hash

    db = trail.copy(tmp_path)
    tamper(db, ("UPDATE audit_events SET actor = 'mallory' WHERE seq = 4", ()))
    proc = verify(db, trail.config)
    assert proc.returncode == 1
    assert "event-altered: event #4" in proc.stdout
    # Rewriting the hash too moves the break to the next link.
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        row = dict(conn.execute("SELECT * FROM audit_events WHERE seq = 4").fetchone())
        for name in ("before", "after"):
            row[name] = json.loads(row[name]) if row[name] else None
        row["at"] = datetime.fromisoformat(row["at"])
        conn.execute("UPDATE audit_events SET hash = ? WHERE seq = 4", (event_hash(row),))
    proc = verify(db, trail.config)
    assert "event-altered" not in proc.stdout
    assert "chain-broken: event #5" in proc.stdout
    other = trail.copy(tmp_path, "other.db")
    tamper(other, ("DELETE FROM audit_events WHERE seq = 6", ()))
    proc = verify(other, trail.config)
    assert proc.returncode == 1
    assert "events-missing: event #6" in proc.stdout
    assert "chain-broken: event #7" in proc.stdout


def test_retention_leaves_a_trace_and_verify_accepts_it(trail: Trail, tmp_path: Path) -> None:
    from api.services.audit import apply_retention
    from api.store.engine import make_engine, make_session_factory

    db = trail.copy(tmp_path)

    async def run() -> int:
        engine = make_engine(f"sqlite:///{db}")
        try:
            return await apply_retention(make_session_factory(engine), days=1, now=FUTURE)
        finally:
            await engine.dispose()

    gone = asyncio.run(run())
    assert gone >= 3
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM evaluations").fetchone()[0] == 0
        deleted = conn.execute(
            "SELECT subject_type, subject_id, record_sha256, actor FROM audit_events"
            " WHERE event = 'deleted'"
        ).fetchall()
    assert ("evaluation", trail.ids["routed"]) in {(t, i) for t, i, _, _ in deleted}
    assert ("review", trail.ids["review"]) in {(t, i) for t, i, _, _ in deleted}
    assert all(len(h) == 64 and a == "system" for _, _, h, a in deleted)
    proc = verify(db, trail.config)
    assert proc.returncode == 0, proc.stdout


FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
