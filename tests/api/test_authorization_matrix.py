"""Every route of the OpenAPI schema x every kind of caller, against a small rule per route.

The routes come from the app's own OpenAPI document, so a new route without a rule here
fails `test_every_route_has_a_rule`. Each rule says which scope the route needs and how
it names a panel or a stored resource; `expected()` turns that into the status a caller
must get: no or a wrong key 401, a missing scope 403, a panel named in the body or query
that the key may not use 403, a panel in the path or a resource of another panel or
tenant 404 (what a key may not see does not exist for it), anything else the route's own
success statuses. The resources (an evaluation and its review item) belong to tenant
"acme" and panel "split"; the panel-restricted key may use "jury" only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest

from api.app import create_app
from api.settings import Settings
from tests.api.trust_keys import KEYS, Trust, make_keys, serve, trust_config
from tests.doubles.judge_server import JudgeDouble

Panel = Literal["path", "body", "query", "items", "resource"] | None


@dataclass(frozen=True)
class Rule:
    scope: str | tuple[str, ...] | None
    """The scope the route needs (a tuple: any one of them); None: public."""
    ok: frozenset[int]
    """What an authorised caller gets."""
    panel: Panel = None
    """Where the route names a panel (or a stored resource of one)."""
    body: Callable[[dict[str, str]], Any] | None = None
    params: dict[str, str] = field(default_factory=dict)


def _ok(*codes: int) -> frozenset[int]:
    return frozenset(codes)


EVALUATE = {"panel": "split", "input": {"prompt": "m", "response": "r"}}
RULES: dict[tuple[str, str], Rule] = {
    ("post", "/v1/evaluations/batch"): Rule(
        "evaluate", _ok(200), "items", lambda ids: {"items": [EVALUATE]}
    ),
    ("post", "/v1/evaluations"): Rule("evaluate", _ok(200), "body", lambda ids: EVALUATE),
    ("post", "/v1/comparisons"): Rule(
        "evaluate",
        _ok(200),
        "body",
        lambda ids: {
            "panel": "pair",
            "input": {"prompt": "p", "response_a": "[[A]]", "response_b": "x"},
        },
    ),
    ("get", "/v1/evaluations/{evaluation_id}"): Rule("evaluate", _ok(200), "resource"),
    ("get", "/v1/evaluations"): Rule(
        "evaluate", _ok(200), "query", params={"panel": "split", "use_case": "support-bot"}
    ),
    ("get", "/v1/panels"): Rule("evaluate", _ok(200)),
    ("get", "/v1/panels/{name}"): Rule("evaluate", _ok(200), "path"),
    ("get", "/v1/rubrics"): Rule("evaluate", _ok(200)),
    ("get", "/v1/rubrics/{rubric_id}"): Rule("evaluate", _ok(200), "path"),
    ("get", "/v1/panels/{name}/agreement"): Rule("admin", _ok(200), "path"),
    ("get", "/v1/reviews"): Rule("review", _ok(200), "query", params={"panel": "split"}),
    ("post", "/v1/reviews/claim"): Rule(
        "review", _ok(204), "body", lambda ids: {"panel": "double-review"}
    ),
    ("get", "/v1/reviews/{item_id}"): Rule("review", _ok(200), "resource"),
    # nobody holds the item: an authorised caller gets past authorisation to the 409
    ("post", "/v1/reviews/{item_id}/verdict"): Rule(
        "review", _ok(409), "resource", lambda ids: {"value": 3}
    ),
    ("post", "/v1/reviews/{item_id}/release"): Rule("review", _ok(409), "resource", lambda ids: {}),
    ("get", "/v1/audit/export"): Rule("admin", _ok(200), "query", params={"panel": "split"}),
    # nothing on "split" is human-reviewed: an authorised caller reaches that 422
    ("post", "/v1/panels/{name}/calibration"): Rule(
        "admin", _ok(422), "path", lambda ids: {"alpha": 0.1, "delta": 0.1, "apply": False}
    ),
    ("get", "/v1/panels/{name}/calibration"): Rule("admin", _ok(200), "path"),
    # "split" counts votes (it is no jury panel): an authorised caller reaches that 422
    ("get", "/v1/panels/{name}/jury"): Rule("admin", _ok(422), "path"),
    ("post", "/v1/panels/{name}/jury/refit"): Rule("admin", _ok(422), "path", lambda ids: {}),
    # The trust config has no profile: an authorised caller reaches the 404 of the profile
    # or assessment it names (tenant scoping of stored assessments: test_assessments.py).
    ("post", "/v1/assessments"): Rule(
        "evaluate", _ok(404), None, lambda ids: {"profile": "nope", "input": EVALUATE["input"]}
    ),
    ("post", "/v1/assessments/batch"): Rule(
        "evaluate",
        _ok(200),
        None,
        lambda ids: {"items": [{"profile": "nope", "input": EVALUATE["input"]}]},
    ),
    ("get", "/v1/assessments/{assessment_id}"): Rule("evaluate", _ok(404)),
    ("get", "/v1/profiles"): Rule("evaluate", _ok(200)),
    ("get", "/v1/profiles/{name}"): Rule("evaluate", _ok(404)),
    # Governance: a model's zone and transitions are the caller's tenant's; reading and
    # evaluating need the evaluate or the admin scope, moving a model admin.
    ("get", "/v1/models"): Rule(("evaluate", "admin"), _ok(200)),
    ("get", "/v1/models/{model}"): Rule(("evaluate", "admin"), _ok(200)),
    ("get", "/v1/models/{model}/transitions"): Rule(("evaluate", "admin"), _ok(200)),
    # an unknown zone: an authorised caller reaches the 422 (test_models_lifecycle.py moves)
    ("post", "/v1/models/{model}/transitions"): Rule(
        "admin", _ok(422), None, lambda ids: {"to": "nowhere", "reason": "matrix"}
    ),
    ("post", "/v1/models/{model}/evaluate"): Rule(("evaluate", "admin"), _ok(200)),
    ("get", "/v1/drift"): Rule(("evaluate", "admin"), _ok(200)),
    # no profile in the trust config: an authorised caller reaches the profile's 404
    ("get", "/v1/compliance"): Rule(("evaluate", "admin"), _ok(404), params={"profile": "nope"}),
    ("get", "/v1/routing/recommendation"): Rule(
        ("evaluate", "admin"), _ok(404), params={"profile": "nope"}
    ),
    ("get", "/review"): Rule(None, _ok(200)),
    ("get", "/healthz"): Rule(None, _ok(200)),
    ("get", "/readyz"): Rule(None, _ok(200)),
    ("get", "/metrics"): Rule(None, _ok(200)),
}
PATH_VALUES = {
    "name": "split",
    "rubric_id": "pairwise-preference",
    "assessment_id": "0" * 32,
    "model": "openai/m-1",
}
"""Path parameters naming a panel, or a rubric of a panel the restricted key may not use."""


@dataclass(frozen=True)
class Caller:
    role: str | None
    """A key of tests.api.trust_keys.KEYS, "wrong" (an unknown key) or None (no key)."""
    scopes: frozenset[str] = frozenset()
    restricted: bool = False
    """Limited to panels other than the one the requests name."""
    other_tenant: bool = False


def _callers() -> list[Caller]:
    callers = [Caller(None), Caller("wrong")]
    for role in ("evaluate", "review", "admin", "narrow", "rival", "root"):
        _, scopes, panels, tenant = KEYS[role]
        callers.append(
            Caller(role, frozenset(scopes), panels is not None, tenant not in ("acme", "*"))
        )
    return callers


CALLERS = _callers()


def expected(rule: Rule, caller: Caller) -> int | frozenset[int]:
    """The status `caller` must get from a route with `rule`."""
    if rule.scope is None:
        return rule.ok
    if caller.role in (None, "wrong"):
        return 401
    needed = (rule.scope,) if isinstance(rule.scope, str) else rule.scope
    if not set(needed) & caller.scopes:
        return 403
    if caller.restricted and rule.panel in ("body", "query"):
        return 403
    if caller.restricted and rule.panel == "path":
        return 404
    if rule.panel == "resource" and (caller.restricted or caller.other_tenant):
        return 404
    return rule.ok


def openapi_routes() -> list[tuple[str, str]]:
    # The schema only: no lifespan runs, so the file is never opened.
    schema = create_app(Settings(database_url="sqlite:///never-opened.db")).openapi()
    return [(m, p) for p, ops in schema["paths"].items() for m in ops]


def request(trust: Trust, ids: dict[str, str], method: str, path: str) -> dict[str, Any]:
    rule = RULES[(method, path)]
    values = {**PATH_VALUES, **ids}
    kw: dict[str, Any] = {"params": rule.params}
    if rule.body is not None:
        kw["json"] = rule.body(ids)
    return {"method": method.upper(), "path": path.format(**values), **kw}


@pytest.fixture(scope="module")
def trust(tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble) -> Iterator[Trust]:
    with serve(tmp_path_factory.mktemp("matrix"), double) as server:
        yield server


@pytest.fixture(scope="module")
def resources(trust: Trust) -> dict[str, str]:
    """acme's evaluation on "split", routed to humans, and its review item."""
    evaluation_id = trust.route_to_humans("evaluate", "split")
    item = trust.call("ops", "GET", f"/v1/evaluations/{evaluation_id}").json()["review_id"]
    return {"evaluation_id": evaluation_id, "item_id": item}


def test_every_route_has_a_rule() -> None:
    routes = set(openapi_routes())
    assert routes == set(RULES), (
        f"without a rule: {routes - set(RULES)}; stale: {set(RULES) - routes}"
    )


@pytest.mark.parametrize("route", sorted(RULES), ids=lambda r: f"{r[0].upper()} {r[1]}")
def test_authorization_matrix(
    trust: Trust, resources: dict[str, str], route: tuple[str, str]
) -> None:
    rule = RULES[route]
    wrong: list[str] = []
    for caller in CALLERS:
        key = "qk_deadbeef_not-a-key" if caller.role == "wrong" else caller.role
        spec = request(trust, resources, *route)
        r = trust.call(key, spec.pop("method"), spec.pop("path"), **spec)
        want = expected(rule, caller)
        if r.status_code not in (want if isinstance(want, frozenset) else {want}):
            wrong.append(f"{caller.role}: {r.status_code}, expected {want}: {r.text[:200]}")
        elif rule.panel == "items" and r.status_code == 200:
            inner = r.json()["data"][0]["status"]
            if inner != (403 if caller.restricted else 200):
                wrong.append(f"{caller.role}: batch item {inner}")
    assert not wrong, "\n".join(wrong)


def test_revoking_the_only_key_keeps_every_route_closed(
    tmp_path: Path, double: JudgeDouble
) -> None:
    """Once a key has been created, no key is never enough again, revoked or not."""
    import asyncio

    from api.services.keys import revoke_key
    from api.store.engine import make_engine, make_session_factory
    from api.store.migrate import upgrade
    from tests.conftest import ServerThread

    db = tmp_path / "q.db"
    upgrade(f"sqlite:///{db}")
    only = make_keys(db, {"only": ("only", ["evaluate", "review", "admin"], None, None)})
    settings = Settings(
        database_url=f"sqlite:///{db}", config=trust_config(tmp_path / "q.yaml", double)
    )
    with ServerThread(create_app(settings), db) as server:
        trust = Trust(server.url, only, db)
        assert trust.call("only", "GET", "/v1/panels").status_code == 200
        assert trust.call(None, "GET", "/v1/panels").status_code == 401

        async def revoke() -> None:
            engine = make_engine(f"sqlite:///{db}")
            from api.store.keys import KeyRepository

            sessions = make_session_factory(engine)
            async with sessions() as session:
                [row] = await KeyRepository(session).all()
            assert await revoke_key(sessions, row.id)
            await engine.dispose()

        asyncio.run(revoke())
        ids = {"evaluation_id": "e" * 32, "item_id": "i" * 32}
        for method, path in sorted(RULES):
            spec = request(trust, ids, method, path)
            public = RULES[(method, path)].scope is None
            for key in (None, "only"):
                r = trust.call(
                    key, spec["method"], spec["path"], params=spec["params"], json=spec.get("json")
                )
                assert r.status_code == (200 if public else 401), (key, method, path, r.text)


def test_auth_off_is_open_with_keys_and_refuses_public_binds(
    tmp_path: Path, double: JudgeDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.api.test_auth import cli

    with serve(tmp_path, double, auth="off") as trust:  # keys exist, but QUORUM_AUTH=off
        assert trust.call(None, "GET", "/v1/panels").status_code == 200
    monkeypatch.setenv("QUORUM_AUTH", "off")
    config = trust_config(tmp_path / "c.yaml", double)
    proc = cli(tmp_path / "q.db", "serve", "--config", str(config), "--host", "0.0.0.0")
    assert proc.returncode == 2 and "QUORUM_AUTH=off" in proc.stderr


def test_the_first_key_closes_a_running_open_service(tmp_path: Path, double: JudgeDouble) -> None:
    """Open mode is decided per request: no restart is needed for keys to be required."""
    from api.store.migrate import upgrade
    from tests.conftest import ServerThread

    db = tmp_path / "q.db"
    upgrade(f"sqlite:///{db}")
    settings = Settings(
        database_url=f"sqlite:///{db}", config=trust_config(tmp_path / "q.yaml", double)
    )
    with ServerThread(create_app(settings), db) as server:
        trust = Trust(server.url, {}, db)
        assert trust.call(None, "GET", "/v1/panels").status_code == 200
        trust.keys.update(make_keys(db, {"first": ("first", ["evaluate"], None, None)}))
        assert trust.call(None, "GET", "/v1/panels").status_code == 401
        assert trust.call("first", "GET", "/v1/panels").status_code == 200
