"""`quorum audit verify` on governance data: a model transition changed, deleted or
inserted with SQL is named like any audited record, and a model's zone that is not what
its transitions made it (set, inserted or deleted by hand) is named too, on SQLite and on
PostgreSQL. The database is one the service wrote (zone moves over HTTP), copied for each
tampering."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.doubles.judge_server import JudgeDouble
from tests.support import POSTGRES_ENV, ServerThread, plain, quorum_cli, write_config
from tests.support.postgres import scratch_postgres

A, B = "acme/model-a", "acme/model-b"


@dataclass(frozen=True)
class Governed:
    """A database where A went to validation then production, and B to validation."""

    url: str
    config: Path
    a_validation: str
    a_production: str
    b_validation: str
    """Transition ids."""

    def copy(self, stack: ExitStack, tmp_path: Path) -> str:
        """A copy of the database to tamper with (dropped after the test)."""
        if self.url.startswith("sqlite"):
            target = tmp_path / "tampered.db"
            source = self.url.removeprefix("sqlite:///")
            with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
                src.backup(dst)
            return f"sqlite:///{target}"
        import psycopg
        from sqlalchemy.engine import make_url

        name = f"{make_url(self.url).database}_{uuid.uuid4().hex[:6]}"
        admin = plain(os.environ[POSTGRES_ENV])

        def drop() -> None:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(self.url).database}"')
        stack.callback(drop)
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def governed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble
) -> Iterator[Governed]:
    from api.app import create_app
    from api.settings import Settings

    root = tmp_path_factory.mktemp("governed")
    with ExitStack() as stack:
        if request.param == "postgres":
            url = stack.enter_context(
                scratch_postgres(os.environ[POSTGRES_ENV], prefix="quorum_gov_audit")
            )
        else:
            url = f"sqlite:///{root / 'q.db'}"
        config = write_config(root / "quorum.yaml", double)
        settings = Settings(database_url=url, config=config)
        ids = []
        with (
            ServerThread(create_app(settings)) as server,
            httpx.Client(base_url=server.url, timeout=30) as http,
        ):
            body = {"panel": "jury", "input": {"prompt": "p", "response": "[[q=4]]"}}
            assert http.post("/v1/evaluations", json=body).status_code in (200, 201, 202)
            for model, to in ((A, "validation"), (A, "production"), (B, "validation")):
                r = http.post(f"/v1/models/{model}/transitions", json={"to": to, "reason": "r"})
                assert r.status_code == 201, r.text
                ids.append(r.json()["id"])
        yield Governed(url, config, *ids)


def findings(url: str) -> list[str]:
    from api.services.audit_verify import verify
    from api.store.engine import make_engine, make_session_factory

    async def run() -> list[str]:
        engine = make_engine(url)
        try:
            return [str(f) for f in (await verify(make_session_factory(engine))).findings]
        finally:
            await engine.dispose()

    return asyncio.run(run())


def tamper(url: str, sql: str, *params: object) -> None:
    """Run one statement that changes one row (`?` for each parameter)."""
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            assert conn.execute(sql, params).rowcount == 1, sql
        return
    import psycopg

    with psycopg.connect(plain(url)) as conn:
        assert conn.execute(sql.replace("?", "%s"), params).rowcount == 1, sql


@pytest.fixture
def copy(governed: Governed, tmp_path: Path) -> Iterator[str]:
    with ExitStack() as stack:
        url = governed.copy(stack, tmp_path)
        yield url


def test_an_untouched_database_verifies(copy: str) -> None:
    assert findings(copy) == []


def test_a_transition_changed_with_sql_is_named(governed: Governed, copy: str) -> None:
    tamper(
        copy, "UPDATE model_transitions SET reason = 'forged' WHERE id = ?", governed.a_production
    )
    [found] = findings(copy)
    assert found.startswith(f"record-changed: transition {governed.a_production}: differs "), found


def test_a_transition_moved_to_production_names_it_and_the_zone(
    governed: Governed, copy: str
) -> None:
    tamper(
        copy,
        "UPDATE model_transitions SET to_zone = 'production' WHERE id = ?",
        governed.b_validation,
    )
    found = findings(copy)
    assert len(found) == 2, found
    assert found[0].startswith(f"record-changed: transition {governed.b_validation}: "), found
    assert found[1].startswith(f"record-changed: zone {B}: in validation since "), found
    assert f"({governed.b_validation}) moved it to production at " in found[1], found


def test_a_deleted_transition_is_named(governed: Governed, copy: str) -> None:
    tamper(copy, "DELETE FROM model_transitions WHERE id = ?", governed.a_production)
    found = findings(copy)
    assert len(found) == 2, found
    # A's zone is now not what its last (remaining) transition made it.
    assert found[0].startswith(f"record-changed: zone {A}: in production since "), found
    assert f"({governed.a_validation}) moved it to validation at " in found[0], found
    assert found[1].startswith(
        f"record-deleted: transition {governed.a_production}: gone without a retention event "
        "(last event #"
    ), found
    assert found[1].endswith(" transitioned)"), found


def test_an_inserted_transition_is_named(governed: Governed, copy: str) -> None:
    forged = "f" * 32
    tamper(
        copy,
        "INSERT INTO model_transitions (id, scope, model, from_zone, to_zone, actor,"
        " actor_key_id, policy, reason, figures, created_at)"
        " SELECT ?, scope, model, from_zone, to_zone, actor, actor_key_id, policy, reason,"
        " figures, created_at FROM model_transitions WHERE id = ?",
        forged,
        governed.b_validation,
    )
    assert findings(copy) == [f"record-unrecorded: transition {forged}: no audit event records it"]


def test_a_zone_set_by_hand_is_named(governed: Governed, copy: str) -> None:
    tamper(copy, "UPDATE model_zones SET zone = 'production' WHERE model = ?", B)
    [found] = findings(copy)
    assert found.startswith(f"record-changed: zone {B}: in production since "), found
    assert f"but its last transition ({governed.b_validation}) moved it to validation at " in found
    assert found.endswith(": changed outside Quorum"), found


def test_a_zone_entered_at_another_time_is_named(governed: Governed, copy: str) -> None:
    """`since` decides which drift events count for the policies."""
    tamper(copy, "UPDATE model_zones SET since = ? WHERE model = ?", "2020-01-01 00:00:00", A)
    [found] = findings(copy)
    assert found.startswith(f"record-changed: zone {A}: in production since 2020-01-01"), found


def test_a_zone_inserted_or_deleted_by_hand_is_named(governed: Governed, copy: str) -> None:
    tamper(
        copy,
        "INSERT INTO model_zones (scope, model, zone, since) SELECT scope, ?, zone, since"
        " FROM model_zones WHERE model = ?",
        "acme/forged",
        A,
    )
    tamper(copy, "DELETE FROM model_zones WHERE model = ?", A)
    assert findings(copy) == [
        "record-unrecorded: zone acme/forged: in production, and no transition moved it: "
        "changed outside Quorum",
        f"record-deleted: zone {A}: gone (so a candidate), but its last transition "
        f"({governed.a_production}) moved it to production",
    ]


def test_cli_names_a_zone_set_by_hand_and_exits_1(governed: Governed, copy: str) -> None:
    tamper(copy, "UPDATE model_zones SET zone = 'production' WHERE model = ?", B)
    env = {"QUORUM_DATABASE_URL": copy}
    proc = quorum_cli("audit", "verify", "--config", governed.config, env=env)
    assert proc.returncode == 1, proc.stderr
    [line] = proc.stdout.splitlines()
    assert line.startswith(f"record-changed: zone {B}: in production since "), proc.stdout
    assert "1 finding(s)" in proc.stderr


def test_an_unreadable_transition_is_named_once(governed: Governed, copy: str) -> None:
    """Its model's zone is not checked against the transitions left: it is named once."""
    if not copy.startswith("sqlite"):
        pytest.skip("PostgreSQL refuses a value its column cannot hold")
    tamper(
        copy, "UPDATE model_transitions SET figures = '{bad' WHERE id = ?", governed.a_production
    )
    [found] = findings(copy)
    assert found == (
        f"record-unreadable: transition {governed.a_production}: model_transitions.figures "
        "holds '{bad': not valid JSON"
    ), found
