"""Audit trail: redaction before storing and judging, JSONL export (HTTP and CLI) that
replays in the backtest, and retention."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.doubles.judge_server import JudgeDouble
from tests.support import ServerThread, quorum_cli, write_config


@pytest.fixture(scope="module")
def audited(
    tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble
) -> Iterator[tuple[httpx.Client, Path, Path]]:
    from api.app import create_app
    from api.settings import Settings

    root = tmp_path_factory.mktemp("audit")
    db = root / "q.db"
    config = write_config(root / "q.yaml", double)
    settings = Settings(database_url=f"sqlite:///{db}", config=config, redact=["email", "api_key"])
    with (
        ServerThread(create_app(settings), db) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        yield http, db, config


SECRET = "Mail bob@example.com, key sk-abcdefghijklmnopqrstuvwx. [[q=4]]"


def test_redaction_before_storing_and_judging(
    audited: tuple[httpx.Client, Path, Path], double: JudgeDouble
) -> None:
    http, db, _ = audited
    double.reset()
    ev = http.post(
        "/v1/evaluations", json={"panel": "jury", "input": {"prompt": "p", "response": SECRET}}
    ).json()
    assert ev["input"]["response"] == ("Mail [REDACTED:email], key [REDACTED:api_key]. [[q=4]]")
    sent = " ".join(m["content"] for r in double.requests for m in r["messages"])
    assert "bob@example.com" not in sent and "sk-abcdef" not in sent
    with sqlite3.connect(db) as conn:
        stored = " ".join(str(row) for row in conn.execute("SELECT input FROM evaluations"))
    assert "bob@example.com" not in stored
    # A panel judging data leakage opts out: its judges must see the data.
    double.reset()
    http.post(
        "/v1/evaluations",
        json={"panel": "leak-check", "input": {"prompt": "p", "response": SECRET}},
    )
    assert "bob@example.com" in double.requests[0]["messages"][-1]["content"]


def test_export_over_http_has_the_audit_record(audited: tuple[httpx.Client, Path, Path]) -> None:
    http, _, _ = audited
    routed = http.post(
        "/v1/evaluations", json={"panel": "split", "input": {"prompt": "p", "response": "r"}}
    ).json()
    item = http.post("/v1/reviews/claim", json={"reviewer": "auditor", "panel": "split"}).json()
    http.post(
        f"/v1/reviews/{item['id']}/verdict",
        json={"reviewer": "auditor", "value": 2, "comment": "meh"},
    )
    r = http.get("/v1/audit/export")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    by_id = {line["item"]: line for line in lines}
    rec = by_id[routed["id"]]
    assert rec["dataset"] == "split" and rec["mode"] == "pointwise"
    assert rec["audit"]["rubric"] == {"id": "helpfulness", "version": 1}
    assert rec["audit"]["routing"]["decision"] == "human"
    assert {v["model"] for v in rec["votes"]} == {
        "openai/fixed-1",
        "openai/fixed-3",
        "openai/fixed-5",
    }
    assert all(len(v["prompt_sha256"]) == 64 and v["raw_output"] for v in rec["votes"])
    decision = rec["audit"]["review"]["decisions"][0]
    assert (decision["reviewer"], decision["value"], decision["comment"]) == ("auditor", 2, "meh")
    assert rec["human"] == [2] and rec["audit"]["verdict"]["source"] == "human"
    assert (
        http.get(
            "/v1/audit/export",
            params={"since": "2030-01-01T00:00:00Z", "until": "2020-01-01T00:00:00Z"},
        ).status_code
        == 422
    )


def test_cli_export_replays_in_the_backtest(
    audited: tuple[httpx.Client, Path, Path], tmp_path: Path
) -> None:
    http, db, config = audited
    for q in (1, 2, 3, 4, 5) * 2:
        http.post(
            "/v1/evaluations",
            json={"panel": "mean-jury", "input": {"prompt": "p", "response": f"[[q={q}]]"}},
        )
    out = tmp_path / "mean-jury.jsonl"
    proc = quorum_cli(
        "export", "--config", config, "--panel", "mean-jury", "--out", out, database=db
    )
    assert proc.returncode == 0, proc.stderr
    assert "exported 10 evaluation(s)" in proc.stderr
    assert len(out.read_text().splitlines()) == 10
    replay = quorum_cli("backtest", out, database=db)
    assert replay.returncode == 0, replay.stderr
    assert "honest-1" in replay.stdout and "fixed-5" in replay.stdout


def test_retention_deletes_old_records(audited: tuple[httpx.Client, Path, Path]) -> None:
    from api.services.audit import apply_retention
    from api.store.engine import make_engine, make_session_factory

    http, db, _ = audited
    old = http.post(
        "/v1/evaluations", json={"panel": "jury", "input": {"prompt": "p", "response": "[[q=3]]"}}
    ).json()
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE evaluations SET created_at = '2020-01-01 00:00:00.000000' WHERE id = ?",
            (old["id"],),
        )
        total = conn.execute("SELECT count(*) FROM evaluations").fetchone()[0]

    async def run() -> int:
        engine = make_engine(f"sqlite:///{db}")
        try:
            return await apply_retention(make_session_factory(engine), days=30)
        finally:
            await engine.dispose()

    assert asyncio.run(run()) == 1
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM evaluations").fetchone()[0] == total - 1
        assert (
            conn.execute(
                "SELECT count(*) FROM votes WHERE evaluation_id = ?", (old["id"],)
            ).fetchone()[0]
            == 0
        )
    assert http.get(f"/v1/evaluations/{old['id']}").status_code == 404


def test_bad_redaction_setting_is_one_line(tmp_path: Path) -> None:
    proc = quorum_cli("check-config", env={"QUORUM_REDACT": '["email", "re:("]'}, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("quorum: settings error: QUORUM_REDACT:")
    assert "not a valid regex" in proc.stderr
