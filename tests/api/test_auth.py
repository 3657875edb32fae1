"""API keys over HTTP: 401 vs 403, scopes, panel limits, revocation, rate limits, CLI."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.doubles.judge_server import JudgeDouble
from tests.support import ServerThread, quorum_cli, write_config

KEY = re.compile(r"^\s+(qk_\S+)$", re.MULTILINE)


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return quorum_cli(*args, database=db)


def create(db: Path, *args: str) -> str:
    proc = cli(db, "keys", "create", *args)
    assert proc.returncode == 0, proc.stderr
    match = KEY.search(proc.stdout)
    assert match, proc.stdout
    return match.group(1)


@pytest.fixture(scope="module")
def secured(
    tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble
) -> Iterator[tuple[str, dict[str, str], Path]]:
    import asyncio

    from api.app import create_app
    from api.services.keys import create_key
    from api.settings import Settings
    from api.store.engine import make_engine, make_session_factory
    from api.store.migrate import upgrade

    root = tmp_path_factory.mktemp("auth")
    db = root / "q.db"
    upgrade(f"sqlite:///{db}")
    specs = {
        "app": ("shop", ["evaluate"], ["jury"], None),
        "reviewer": ("ann", ["review"], None, None),
        "admin": ("ops", ["evaluate", "review", "admin"], None, None),
        "slow": ("tiny", ["evaluate"], None, 3),
    }

    async def make() -> dict[str, str]:
        engine = make_engine(f"sqlite:///{db}")
        sessions = make_session_factory(engine)
        out = {}
        for role, (name, scopes, panels, rate) in specs.items():
            out[role], _ = await create_key(sessions, name, scopes, panels, rate)
        await engine.dispose()
        return out

    keys = asyncio.run(make())
    settings = Settings(
        database_url=f"sqlite:///{db}", config=write_config(root / "q.yaml", double)
    )
    with ServerThread(create_app(settings), db) as server:
        yield server.url, keys, db


def call(url: str, method: str, path: str, key: str | None = None, **kw: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.request(method, url + path, headers=headers, timeout=30, **kw)  # type: ignore[arg-type]


BODY = {"panel": "jury", "input": {"prompt": "p", "response": "[[q=4]]"}}


def test_missing_or_bad_key_is_401(secured: tuple[str, dict[str, str], Path]) -> None:
    url, _, _ = secured
    r = call(url, "POST", "/v1/evaluations", json=BODY)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert call(url, "POST", "/v1/evaluations", "qk_nope_nope", json=BODY).status_code == 401
    assert call(url, "GET", "/v1/panels", "not-a-key").status_code == 401


def test_scopes_and_panels_are_403(secured: tuple[str, dict[str, str], Path]) -> None:
    url, keys, _ = secured
    assert call(url, "POST", "/v1/evaluations", keys["app"], json=BODY).status_code == 200
    other = {**BODY, "panel": "split"}
    r = call(url, "POST", "/v1/evaluations", keys["app"], json=other)
    assert r.status_code == 403 and "split" in r.json()["detail"]
    assert call(url, "GET", "/v1/reviews", keys["app"]).status_code == 403
    assert call(url, "GET", "/v1/panels/jury/agreement", keys["app"]).status_code == 403
    assert call(url, "GET", "/v1/panels/jury/agreement", keys["admin"]).status_code == 200
    assert call(url, "GET", "/v1/reviews", keys["reviewer"]).status_code == 200
    assert call(url, "POST", "/v1/evaluations", keys["reviewer"], json=BODY).status_code == 403
    # probes and metrics stay open for the orchestrator and Prometheus
    assert call(url, "GET", "/healthz").status_code == 200
    assert call(url, "GET", "/metrics").status_code == 200


def test_rate_limit_is_429_with_retry_after(secured: tuple[str, dict[str, str], Path]) -> None:
    url, keys, _ = secured
    codes = [call(url, "GET", "/v1/panels", keys["slow"]).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
    r = call(url, "GET", "/v1/panels", keys["slow"])
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert r.headers["content-type"] == "application/problem+json"


def test_list_and_revoke(secured: tuple[str, dict[str, str], Path]) -> None:
    url, _, db = secured
    doomed = create(db, "--name", "doomed", "--scopes", "evaluate")
    assert call(url, "GET", "/v1/panels", doomed).status_code == 200
    listing = cli(db, "keys", "list")
    assert listing.returncode == 0 and "doomed" in listing.stdout
    assert doomed not in listing.stdout  # secrets are never listed
    key_id = next(line.split()[0] for line in listing.stdout.splitlines() if "doomed" in line)
    assert cli(db, "keys", "revoke", key_id).returncode == 0
    assert call(url, "GET", "/v1/panels", doomed).status_code == 401
    assert cli(db, "keys", "revoke", key_id).returncode == 2
    bad = cli(db, "keys", "create", "--name", "x", "--scopes", "everything")
    assert bad.returncode == 2 and "scopes must be among" in bad.stderr


def test_serve_refuses_public_address_without_keys(tmp_path: Path, double: JudgeDouble) -> None:
    config = write_config(tmp_path / "q.yaml", double)
    proc = cli(tmp_path / "empty.db", "serve", "--config", str(config), "--host", "0.0.0.0")
    assert proc.returncode == 2
    assert "refusing to serve on 0.0.0.0 with no API key" in proc.stderr


async def test_the_key_check_does_not_queue_behind_a_write_on_sqlite(
    tmp_path: Path, double: JudgeDouble
) -> None:
    """On SQLite every transaction of the process shares one connection; the key check
    every request makes reads on a connection of its own, so it answers while a write
    holds that one (it used to wait for it: 15-35 ms per request under load)."""
    import asyncio

    from sqlalchemy import text

    from api.app import create_app
    from api.settings import Settings

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'q.db'}",
        config=write_config(tmp_path / "quorum.yaml", double),
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app), app.state.sessions() as session:
        # the session holds the one write connection, in a write
        await session.exec(text("UPDATE api_keys SET name = name"))  # type: ignore[call-overload]
        assert await asyncio.wait_for(app.state.auth.is_open(), timeout=5) is True
        await session.rollback()
