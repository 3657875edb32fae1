"""A Quorum server with several tenants' keys, for the identity, tenancy and blindness
tests. Tenant "acme" has an app, two reviewers, an admin and a key limited to the "jury"
panel; tenant "globex" has one key of every scope; "root" is an admin of every tenant."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from tests.conftest import ServerThread, write_config
from tests.doubles.judge_server import JudgeDouble

ALL = ["evaluate", "review", "admin"]
KEYS: dict[str, tuple[str, list[str], list[str] | None, str | None]] = {
    # role: (name, scopes, panels, tenant)
    "evaluate": ("acme-app", ["evaluate"], None, "acme"),
    "review": ("alice", ["review"], None, "acme"),
    "bob": ("bob", ["review"], None, "acme"),
    "carol": ("carol", ["evaluate", "review"], None, "acme"),
    "admin": ("ops", ["admin"], None, "acme"),
    "ops": ("ops", ALL, None, "acme"),
    "narrow": ("narrow", ALL, ["jury"], "acme"),
    "rival": ("globex", ALL, None, "globex"),
    "root": ("root", ALL, None, "*"),
}
BLIND_PAIR = {
    "name": "blind-pair",
    "rubric": "helpfulness",
    "judges": ["fixed-1", "fixed-3", "fixed-5"],
    "reviewers": 2,
    "review_lease_s": 120,
}
"""A blind panel needing two reviewers: every item it judges goes to humans."""


@dataclass
class Trust:
    url: str
    keys: dict[str, str]
    db: Path

    def call(self, role: str | None, method: str, path: str, **kw: object) -> httpx.Response:
        key = self.keys.get(role, role) if role else None
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.request(method, self.url + path, headers=headers, timeout=60, **kw)  # type: ignore[arg-type]

    def route_to_humans(self, role: str, panel: str, prompt: str = "p") -> str:
        """An evaluation (by `role`'s key) that `panel` sends to review; its id."""
        body = {"panel": panel, "input": {"prompt": prompt, "response": "r"}}
        r = self.call(role, "POST", "/v1/evaluations", json=body)
        assert r.status_code == 200 and r.json()["status"] == "in_review", r.text
        return str(r.json()["id"])


def make_keys(
    db: Path, specs: dict[str, tuple[str, list[str], list[str] | None, str | None]]
) -> dict[str, str]:
    from api.services.keys import create_key
    from api.store.engine import make_engine, make_session_factory

    async def make() -> dict[str, str]:
        engine = make_engine(f"sqlite:///{db}")
        sessions = make_session_factory(engine)
        out = {}
        for role, (name, scopes, panels, tenant) in specs.items():
            out[role], _ = await create_key(sessions, name, scopes, panels, None, tenant=tenant)
        await engine.dispose()
        return out

    return asyncio.run(make())


def trust_config(path: Path, double: JudgeDouble) -> Path:
    write_config(path, double)
    config = yaml.safe_load(path.read_text())
    config["panels"].append(BLIND_PAIR)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@contextmanager
def serve(root: Path, double: JudgeDouble, **settings: object) -> Iterator[Trust]:
    """Start a server with the KEYS above in a fresh database under `root`."""
    from api.app import create_app
    from api.settings import Settings
    from api.store.migrate import upgrade

    db = root / "q.db"
    upgrade(f"sqlite:///{db}")
    keys = make_keys(db, KEYS)
    app = create_app(
        Settings(
            database_url=f"sqlite:///{db}",
            config=trust_config(root / "q.yaml", double),
            **settings,  # type: ignore[arg-type]
        )
    )
    with ServerThread(app, db) as server:
        yield Trust(server.url, keys, db)
