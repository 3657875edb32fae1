"""Blind review shows an allow-list of the evaluation's fields: every field of
`EvaluationPublic` is classified, and nothing of a checklist panel's opinion (its per-question
verdicts and every judge's answers) reaches a blind reader, over the review API or the
evaluations API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from api.schemas import EvaluationPublic
from api.services.blind import HIDDEN, SHOWN, blinded
from tests.api.trust_keys import Trust, make_keys
from tests.doubles.judge_server import JudgeDouble
from tests.support import ServerThread, judge, write_config

CHECK = "blind-check"
KEYS: dict[str, tuple[str, list[str], list[str] | None, str | None]] = {
    "app": ("acme-app", ["evaluate"], None, "acme"),
    "alice": ("alice", ["review"], None, "acme"),
    "carol": ("carol", ["evaluate", "review"], None, "acme"),
    "ops": ("ops", ["evaluate", "review", "admin"], None, "acme"),
}
ITEM = {"prompt": "Are you human?", "response": "I am an AI assistant. [[no=names-sources]]"}


def test_every_evaluation_field_is_shown_or_hidden() -> None:
    """A field added to EvaluationPublic must be classified here: shown to a blind reader
    (SHOWN) or emptied (HIDDEN). Unclassified, it would be hidden, but say which."""
    fields = set(EvaluationPublic.model_fields)
    assert not SHOWN & set(HIDDEN), SHOWN & set(HIDDEN)
    assert fields - SHOWN - set(HIDDEN) == set(), "classify in api/services/blind.py"
    assert SHOWN | set(HIDDEN) == fields, "api/services/blind.py names a field that is gone"


@pytest.fixture(scope="module")
def trust(tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble) -> Iterator[Trust]:
    from api.app import create_app
    from api.settings import Settings
    from api.store.migrate import upgrade

    root = tmp_path_factory.mktemp("review-blind")
    path = write_config(root / "q.yaml", double)
    config: dict[str, Any] = yaml.safe_load(path.read_text())
    config["judges"] += [
        judge("k1", "checklist", double.base_url, family="k1"),
        judge("k2", "checklist-firstno", double.base_url, family="k2"),
    ]
    config["panels"].append(
        {
            "name": CHECK,
            "rubric": "transparency-checklist",
            "judges": ["k1", "k2"],
            "routing": {"min_confidence": 0.99, "min_agreement": 0.99},
        }
    )
    config["panels"].append(
        {
            "name": "blind-safety",
            "rubric": "safety",
            "judges": ["honest-1", "honest-2", "honest-3"],
            "routing": {"min_confidence": 0.99},
        }
    )
    config["profiles"] = [{"name": "blind-profile", "criteria": [{"panel": "blind-safety"}]}]
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    db = root / "q.db"
    upgrade(f"sqlite:///{db}")
    keys = make_keys(db, KEYS)
    app = create_app(Settings(database_url=f"sqlite:///{db}", config=path))
    with ServerThread(app, db) as server:
        yield Trust(server.url, keys, db)


def opinion(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The fields of an evaluation that give the panel's opinion, and what they hold."""
    return {name: evaluation[name] for name in HIDDEN}


def test_a_blind_checklist_item_shows_no_question_verdicts(trust: Trust) -> None:
    body = {"panel": CHECK, "input": ITEM, "idempotency_key": "blind-check-1"}
    r = trust.call("app", "POST", "/v1/evaluations", json=body)
    assert r.status_code == 200 and r.json()["status"] == "in_review", r.text
    whole = r.json()
    assert whole["questions"] and all(q["answers"] for q in whole["questions"])

    item = trust.call("alice", "POST", "/v1/reviews/claim", json={"panel": CHECK}).json()
    assert item["evaluation_id"] == whole["id"] and item["blind"] is True
    assert opinion(item["evaluation"]) == {**HIDDEN}
    assert item["evaluation"]["input"] == whole["input"]
    for role, path in (("alice", f"/v1/reviews/{item['id']}"), ("carol", "/v1/reviews")):
        text = json.dumps(trust.call(role, "GET", path).json())
        assert '"k1": "yes"' not in text and '"passed"' not in text, text[:500]

    # a key that reviews and evaluates reads the evaluation blind too: by id and listed
    read = trust.call("carol", "GET", f"/v1/evaluations/{whole['id']}").json()
    assert opinion(read) == {**HIDDEN}
    listed = trust.call("carol", "GET", "/v1/evaluations", params={"panel": CHECK}).json()
    [mine] = [e for e in listed["data"] if e["id"] == whole["id"]]
    assert opinion(mine) == {**HIDDEN}
    # the submitter and an admin read it whole
    for role in ("app", "ops"):
        assert trust.call(role, "GET", f"/v1/evaluations/{whole['id']}").json() == whole

    done = trust.call(
        "alice", "POST", f"/v1/reviews/{item['id']}/verdict", json={"value": "pass"}
    ).json()
    assert done["blind"] is False and done["evaluation"]["questions"] == whole["questions"]


def test_the_blind_view_keeps_every_shown_field() -> None:
    from datetime import UTC, datetime

    full = EvaluationPublic.model_validate(
        {
            "id": "e1",
            "kind": "evaluation",
            "panel": "p",
            "rubric": {"id": "helpfulness", "version": 1},
            "status": "in_review",
            "verdict": {"value": 4, "compliant": True, "source": "panel"},
            "confidence": 0.4,
            "agreement": None,
            "routing": None,
            "votes": [],
            "judges": [{"judge": "j", "value": 4, "weight": 1.0}],
            "review_id": "r1",
            "idempotency_key": "k",
            "input": {"prompt": "p", "response": "r"},
            "metadata": {"m": 1},
            "created_at": datetime(2024, 1, 1, tzinfo=UTC),
            "completed_at": None,
        }
    )
    blind = blinded(full)
    assert {n: getattr(blind, n) for n in SHOWN} == {n: getattr(full, n) for n in SHOWN}
    assert blind.model_dump(include=set(HIDDEN)) == HIDDEN


def test_an_assessment_is_read_blind_where_its_criterion_is(trust: Trust) -> None:
    """GET /v1/assessments/{id} gave a reviewer the criterion's verdict, confidence and
    votes that GET /v1/evaluations/{id} hid (and the score that follows from them)."""
    safe = {"prompt": "Is this safe?", "response": "It is. [[q=pass]]"}
    body = {"profile": "blind-profile", "input": safe, "idempotency_key": "blind-assess-1"}
    r = trust.call("app", "POST", "/v1/assessments", json=body)
    assert r.status_code == 200, r.text
    whole = r.json()
    [criterion] = whole["criteria"]
    assert criterion["evaluation"]["status"] == "in_review"
    assert criterion["evaluation"]["verdict"] is not None  # the panel's, shown to the app
    path = f"/v1/assessments/{whole['id']}"
    read = trust.call("carol", "GET", path).json()
    assert opinion(read["criteria"][0]["evaluation"]) == {**HIDDEN}
    assert read["compliance"]["score"] is None and read["compliance"]["failing"] == []
    # replaying the key is no way round it
    again = trust.call("carol", "POST", "/v1/assessments", json=body)
    assert again.status_code == 409 or opinion(again.json()["criteria"][0]["evaluation"]) == {
        **HIDDEN
    }
    for role in ("app", "ops"):  # the submitter and an admin read it whole
        assert trust.call(role, "GET", path).json()["criteria"] == whole["criteria"]
