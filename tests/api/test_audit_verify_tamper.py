"""`quorum audit verify` on rows tampered with so that a stored value no longer fits its
column (JSON that does not parse, a time that is not a time, a number that is not a
number, text that is not UTF-8): each such row is one finding naming it, and the check
goes on with every other row, instead of ending in a traceback."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support import ServerThread, quorum_cli, route_to_humans


@dataclass(frozen=True)
class Stored:
    """A database with one of each record the trail pins, and where each one is."""

    db: Path
    config: Path
    auto: str
    """An auto-decided evaluation."""
    routed: str
    """An evaluation routed to humans and decided by one."""
    review: str
    calibration: str
    vote: int
    """A vote of `routed`."""
    decision: int
    judged: int
    """The seq of `routed`'s `judged` event."""

    def copy(self, tmp_path: Path) -> Path:
        """A consistent copy of the database, to tamper with."""
        target = tmp_path / "tampered.db"
        with sqlite3.connect(self.db) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        return target


@pytest.fixture(scope="module")
def stored(quorum: ServerThread) -> Stored:
    assert quorum.database is not None
    with httpx.Client(base_url=quorum.url, timeout=30) as http:
        auto = http.post(
            "/v1/evaluations",
            json={"panel": "jury", "input": {"prompt": "p", "response": "[[q=4]]"}},
        ).json()
        [routed] = route_to_humans(http, "split", 1)
        item = http.post("/v1/reviews/claim", json={"reviewer": "ann", "panel": "split"}).json()
        done = http.post(f"/v1/reviews/{item['id']}/verdict", json={"reviewer": "ann", "value": 1})
        assert done.status_code == 200, done.text
        calibration = http.post("/v1/panels/split/calibration", json={"alpha": 0.2}).json()
    with sqlite3.connect(quorum.database) as conn:
        [(vote,)] = conn.execute("SELECT min(id) FROM votes WHERE evaluation_id = ?", (routed,))
        [(decision,)] = conn.execute(
            "SELECT id FROM review_decisions WHERE review_item_id = ?", (item["id"],)
        )
        [(judged,)] = conn.execute(
            "SELECT seq FROM audit_events WHERE event = 'judged' AND subject_id = ?", (routed,)
        )
    config = quorum.database.parent / "quorum.yaml"
    ids = (auto["id"], routed, item["id"], calibration["id"], vote, decision, judged)
    return Stored(quorum.database, config, *ids)


def findings(db: Path) -> list[str]:
    from api.services.audit_verify import verify
    from api.store.engine import make_engine, make_session_factory

    async def run() -> list[str]:
        engine = make_engine(f"sqlite:///{db}")
        try:
            return [str(f) for f in (await verify(make_session_factory(engine))).findings]
        finally:
            await engine.dispose()

    return asyncio.run(run())


def tamper(db: Path, sql: str, *params: object) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        assert conn.execute(sql, params).rowcount == 1, sql


NOT_UTF8 = "CAST(X'FFFE' AS TEXT)"
ROW = {"audit_events": "seq"}
# fmt: off
CASES = [
    # table, column, the value written (SQL), which row (a `Stored` field), the finding
    # it makes (formatted with the `Stored` fields), and why
    ("audit_events", "after", "'{bad'", "judged", "event-unreadable: event #{judged} (judged",
     "not valid JSON"),
    ("audit_events", "at", "'yesterday'", "judged", "event-unreadable: event #{judged} (judged",
     "not a valid time"),
    ("evaluations", "outcome", "'{bad'", "routed", "record-unreadable: evaluation {routed}",
     "not valid JSON"),
    ("evaluations", "created_at", "'nope'", "auto", "record-unreadable: evaluation {auto}",
     "not a valid time"),
    ("evaluations", "error", NOT_UTF8, "auto", "record-unreadable: evaluation {auto}",
     "not UTF-8 text"),
    # A well-formed time with no UTC equivalent (past the end of the calendar in UTC).
    ("evaluations", "updated_at", "'9999-12-31 23:59:59-05:00'", "auto",
     "record-unreadable: evaluation {auto}", "not a valid time"),
    ("votes", "value", "'[1,'", "vote", "record-unreadable: evaluation {routed}: votes #{vote}",
     "not valid JSON"),
    ("votes", "attempts", "'x'", "vote", "record-unreadable: evaluation {routed}: votes #{vote}",
     "not an integer"),
    ("votes", "latency_ms", "'x'", "vote", "record-unreadable: evaluation {routed}: votes #{vote}",
     "not a number"),
    ("review_items", "decided_at", "'2026-13-45'", "review", "record-unreadable: review {review}",
     "not a valid time"),
    ("review_decisions", "value", "'{'", "decision",
     "record-unreadable: review {review}: review_decisions #{decision}", "not valid JSON"),
    ("calibrations", "curve", "'nope'", "calibration",
     "record-unreadable: calibration {calibration}", "not valid JSON"),
    ("calibrations", "certified", "'x'", "calibration",
     "record-unreadable: calibration {calibration}", "not a boolean"),
]
# fmt: on


@pytest.mark.parametrize(
    ("table", "column", "value", "row", "finding", "why"),
    CASES,
    ids=[f"{table}.{column}" for table, column, *_ in CASES],
)
def test_a_value_its_column_cannot_hold_is_one_finding(
    stored: Stored,
    tmp_path: Path,
    table: str,
    column: str,
    value: str,
    row: str,
    finding: str,
    why: str,
) -> None:
    db = stored.copy(tmp_path)
    assert findings(db) == []
    key = ROW.get(table, "id")
    tamper(db, f"UPDATE {table} SET {column} = {value} WHERE {key} = ?", getattr(stored, row))
    [found] = findings(db)  # that row only: every other row was still checked, and passed
    assert found.startswith(finding.format(**vars(stored))), found
    assert f"{column} holds " in found and found.endswith(f": {why}"), found


def test_cli_names_every_tampered_row_and_exits_1(stored: Stored, tmp_path: Path) -> None:
    db = stored.copy(tmp_path)
    tamper(db, "UPDATE audit_events SET at = 'yesterday' WHERE seq = ?", stored.judged)
    tamper(db, "UPDATE evaluations SET outcome = '{bad' WHERE id = ?", stored.routed)
    tamper(db, "UPDATE review_decisions SET value = '[' WHERE id = ?", stored.decision)
    tamper(db, "UPDATE evaluations SET verdict_value = '2' WHERE id = ?", stored.auto)
    proc = quorum_cli("audit", "verify", "--config", stored.config, database=db)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 4, proc.stdout
    expected = [
        f"event-unreadable: event #{stored.judged} (judged evaluation {stored.routed}): "
        "audit_events.at holds 'yesterday': not a valid time",
        f"record-unreadable: evaluation {stored.routed}: evaluations.outcome holds '{{bad': "
        "not valid JSON",
        f"record-changed: evaluation {stored.auto}: ",
        f"record-unreadable: review {stored.review}: review_decisions #{stored.decision}: "
        "value holds '[': not valid JSON",
    ]
    for want in expected:
        assert sum(line.startswith(want) for line in lines) == 1, (want, proc.stdout)
    assert "4 finding(s)" in proc.stderr


def test_an_id_that_is_not_text_is_named_and_the_rest_checked(
    stored: Stored, tmp_path: Path
) -> None:
    db = stored.copy(tmp_path)
    tamper(db, f"UPDATE evaluations SET id = {NOT_UTF8} || id WHERE id = ?", stored.auto)
    found = findings(db)
    assert len(found) == 2, found
    subject = f"record-unreadable: evaluation \\xff\\xfe{stored.auto}: evaluations.id holds"
    assert found[0].startswith(subject), found
    assert found[0].endswith("not UTF-8 text"), found
    # Read past it: the record its events name is gone.
    assert found[1].startswith(f"record-deleted: evaluation {stored.auto}: "), found
