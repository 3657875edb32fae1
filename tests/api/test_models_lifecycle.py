"""Subject models' zones over HTTP: a model never seen is a candidate; an admin moves it
with a reason; a no-op is 409, an unknown zone 422; every move is in the audit chain;
each tenant governs its own models."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import yaml

from tests.api.trust_keys import KEYS, Trust, make_keys, trust_config
from tests.conftest import ServerThread
from tests.doubles.judge_server import JudgeDouble

MODEL = "openai/gpt-4o-mini"


@pytest.fixture(scope="module")
def trust(tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble) -> Iterator[Trust]:
    """The tenants' keys of tests.api.trust_keys, and a profile on the safety panel."""
    from api.app import create_app
    from api.settings import Settings
    from api.store.migrate import upgrade

    root = tmp_path_factory.mktemp("lifecycle")
    db = root / "q.db"
    upgrade(f"sqlite:///{db}")
    keys = make_keys(db, KEYS)
    config = trust_config(root / "q.yaml", double)
    data = yaml.safe_load(config.read_text())
    data["profiles"] = [{"name": "safe", "criteria": [{"panel": "safety"}]}]
    data["governance"] = {"sweep_interval_s": 0.2, "settle_s": 0}
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    app = create_app(Settings(database_url=f"sqlite:///{db}", config=config))
    with ServerThread(app, db) as server:
        yield Trust(server.url, keys, db)


def test_a_model_never_seen_is_a_candidate(trust: Trust) -> None:
    r = trust.call("evaluate", "GET", "/v1/models/never-seen")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "never-seen" and body["zone"] == "candidate"
    assert body["since"] is None and body["last_transition"] is None
    assert body["drift_events"] == 0


def test_an_admin_moves_a_model_and_the_move_is_recorded_and_audited(trust: Trust) -> None:
    path = f"/v1/models/{MODEL}/transitions"
    r = trust.call("admin", "POST", path, json={"to": "validation", "reason": "qualified"})
    assert r.status_code == 201, r.text
    moved = r.json()
    assert moved["model"] == MODEL
    assert (moved["from_zone"], moved["to_zone"]) == ("candidate", "validation")
    assert moved["actor"] == "ops" and moved["policy"] is None
    assert moved["reason"] == "qualified"
    r = trust.call("admin", "POST", path, json={"to": "production", "reason": "go-live"})
    assert r.status_code == 201, r.text
    # the slash in the name may also come percent-encoded
    shown = trust.call("evaluate", "GET", "/v1/models/openai%2Fgpt-4o-mini").json()
    assert shown["zone"] == "production" and shown["since"] is not None
    assert shown["last_transition"]["reason"] == "go-live"
    history = trust.call("evaluate", "GET", path).json()
    assert history["count"] == 2
    assert [t["to_zone"] for t in history["data"]] == ["validation", "production"]
    listed = trust.call("evaluate", "GET", "/v1/models").json()
    assert {m["model"]: m["zone"] for m in listed["data"]}[MODEL] == "production"
    # in the audit chain: the export of events (a key of every tenant)
    export = trust.call("root", "GET", "/v1/audit/export", params={"stream": "events"})
    assert export.status_code == 200, export.text
    events = [json.loads(line) for line in export.text.splitlines()]
    moves = [e for e in events if e["event"] == "transitioned"]
    assert [(e["before"]["zone"], e["after"]["zone"]) for e in moves] == [
        ("candidate", "validation"),
        ("validation", "production"),
    ]
    assert {e["actor"] for e in moves} == {"ops"}
    assert moves[0]["after"]["model"] == MODEL and moves[0]["after"]["reason"] == "qualified"
    assert moves[0]["subject_type"] == "model" and moves[0]["record_sha256"]


def test_bad_moves_are_problems(trust: Trust) -> None:
    path = "/v1/models/m-bad/transitions"
    noop = trust.call("admin", "POST", path, json={"to": "candidate", "reason": "again"})
    assert noop.status_code == 409, noop.text
    assert noop.headers["content-type"].startswith("application/problem+json")
    assert "already in candidate" in noop.json()["detail"]
    unknown = trust.call("admin", "POST", path, json={"to": "heaven", "reason": "x"})
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["errors"][0]["location"].endswith("to")
    no_reason = trust.call("admin", "POST", path, json={"to": "production"})
    assert no_reason.status_code == 422
    # only admins move models
    assert (
        trust.call("evaluate", "POST", path, json={"to": "production", "reason": "x"}).status_code
        == 403
    )
    assert trust.call(None, "GET", "/v1/models").status_code == 401
    assert trust.call("evaluate", "GET", "/v1/models/m-bad/transitions").json()["count"] == 0


def test_each_tenant_governs_its_own_models(trust: Trust) -> None:
    path = "/v1/models/shared-name/transitions"
    r = trust.call("admin", "POST", path, json={"to": "quarantine", "reason": "leaks"})
    assert r.status_code == 201, r.text
    assert trust.call("evaluate", "GET", "/v1/models/shared-name").json()["zone"] == "quarantine"
    rival = trust.call("rival", "GET", "/v1/models/shared-name").json()
    assert rival["zone"] == "candidate"
    assert "shared-name" not in {
        m["model"] for m in trust.call("rival", "GET", "/v1/models").json()["data"]
    }


def test_compliance_models_and_recommendations_are_the_tenants_own(trust: Trust) -> None:
    body = {
        "profile": "safe",
        "input": {"prompt": "p", "response": "fine [[q=pass]]"},
        "subject": {"model": "acme-bot"},
        "use_case": "faq",
    }
    for _ in range(3):
        r = trust.call("evaluate", "POST", "/v1/assessments", json=body)
        assert r.status_code == 200, r.text
    mine = trust.call("evaluate", "GET", "/v1/compliance", params={"profile": "safe"}).json()
    assert [(c["model"], c["use_case"], c["n"]) for c in mine["data"]] == [("acme-bot", "faq", 3)]
    theirs = trust.call("rival", "GET", "/v1/compliance", params={"profile": "safe"}).json()
    assert theirs["data"] == [] and theirs["count"] == 0
    everyone = trust.call("root", "GET", "/v1/compliance", params={"profile": "safe"}).json()
    assert [c["model"] for c in everyone["data"]] == ["acme-bot"]
    # seen in acme's evaluations: a candidate of acme's, unknown to globex
    listed = {
        m["model"]: m["zone"] for m in trust.call("evaluate", "GET", "/v1/models").json()["data"]
    }
    assert listed["acme-bot"] == "candidate"
    rival = trust.call("rival", "GET", "/v1/models").json()["data"]
    assert "acme-bot" not in {m["model"] for m in rival}
    # acme's production model is recommended to acme only
    move = {"to": "production", "reason": "go-live"}
    assert (
        trust.call("admin", "POST", "/v1/models/acme-bot/transitions", json=move).status_code == 201
    )
    params = {"profile": "safe", "use_case": "faq"}
    assert (
        trust.call("evaluate", "GET", "/v1/routing/recommendation", params=params).json()["model"]
        == "acme-bot"
    )
    other = trust.call("rival", "GET", "/v1/routing/recommendation", params=params).json()
    assert other["model"] is None and other["ranking"] == []
    assert trust.call("rival", "GET", "/v1/drift").json()["count"] == 0


def test_a_key_limited_to_some_panels_sees_only_the_profiles_it_may_run(trust: Trust) -> None:
    """Profile "safe" is judged by panel "safety"; a key limited to "jury" neither lists
    it nor reads it (404, as for a panel outside its reach), and the 404 names none."""
    assert [p["name"] for p in trust.call("ops", "GET", "/v1/profiles").json()["data"]] == ["safe"]
    assert trust.call("ops", "GET", "/v1/profiles/safe").status_code == 200
    assert trust.call("narrow", "GET", "/v1/profiles").json() == {"data": [], "count": 0}
    hidden = trust.call("narrow", "GET", "/v1/profiles/safe")
    assert hidden.status_code == 404
    assert "safe" not in hidden.json()["detail"].split("configured:")[1]
