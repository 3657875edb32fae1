"""Migration 0008 on a database with data from before tenants: old evaluations belong to
no tenant and only admin keys of every tenant see them; old keys get a tenant of their
own; idempotency keys become unique per tenant, in the database itself."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from api.app import create_app
from api.settings import Settings
from api.store.migrate import upgrade
from tests.api.trust_keys import Trust, make_keys, trust_config
from tests.conftest import ServerThread
from tests.doubles.judge_server import JudgeDouble

OLD = (
    "INSERT INTO evaluations (id, kind, panel, rubric_id, rubric_version, status, input,"
    " request_metadata, idempotency_key, request_sha256, audit_draw, runs, created_at,"
    " updated_at) VALUES (?, 'evaluation', 'jury', 'helpfulness', 1, 'failed',"
    ' \'{"prompt": "p", "response": "r"}\', \'{}\', ?, \'x\', 0.5, 1,'
    " '2026-11-30 00:00:00', '2026-11-30 00:00:00')"
)


def test_rows_from_before_tenants(tmp_path: Path, double: JudgeDouble) -> None:
    db = tmp_path / "q.db"
    upgrade(f"sqlite:///{db}", "0007")
    with sqlite3.connect(db) as conn:
        conn.execute(OLD, ("old" + "0" * 29, "legacy-key"))
        conn.execute(
            "INSERT INTO api_keys (id, name, prefix, sha256, scopes, created_at)"
            " VALUES ('k-old', 'old', 'p', 's', '[\"admin\"]', '2026-11-30 00:00:00')"
        )
    upgrade(f"sqlite:///{db}")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT tenant, idempotency_tenant FROM evaluations").fetchall() == [
            (None, "")
        ]
        assert conn.execute("SELECT tenant FROM api_keys").fetchall() == [("k-old",)]
        with pytest.raises(sqlite3.IntegrityError):  # same key, same (no) tenant
            conn.execute(OLD, ("dup" + "0" * 29, "legacy-key"))
        conn.execute(OLD, ("new" + "0" * 29, None))  # the same key in another tenant: fine
        conn.execute(
            "UPDATE evaluations SET tenant = 'acme', idempotency_tenant = 'acme',"
            " idempotency_key = 'legacy-key' WHERE id = ?",
            ("new" + "0" * 29,),
        )
    keys = make_keys(
        db,
        {
            "root": ("root", ["evaluate", "admin"], None, "*"),
            "ops": ("ops", ["evaluate", "admin"], None, "acme"),
        },
    )
    settings = Settings(
        database_url=f"sqlite:///{db}", config=trust_config(tmp_path / "q.yaml", double)
    )
    with ServerThread(create_app(settings), db) as server:
        trust = Trust(server.url, keys, db)
        old = "/v1/evaluations/old" + "0" * 29
        assert trust.call("root", "GET", old).status_code == 200
        assert trust.call("ops", "GET", old).status_code == 404
        assert trust.call("ops", "GET", "/v1/evaluations/new" + "0" * 29).status_code == 200
        since = {"since": "2026-11-29T00:00:00Z"}
        root_export = trust.call("root", "GET", "/v1/audit/export", params=since).text
        ops_export = trust.call("ops", "GET", "/v1/audit/export", params=since).text
        assert "old" + "0" * 29 in root_export and "old" + "0" * 29 not in ops_export
