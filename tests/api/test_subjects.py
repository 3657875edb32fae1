"""The subject of a judged response (`subject: {model, version?}`) and its governance
`use_case`, end to end against the judge double: accepted on evaluations, comparisons,
assessments and batches, stored, echoed, inherited by an assessment's criteria, filtered
in `GET /v1/evaluations` and the audit export (HTTP and CLI), capped metric labels, and
422 problem details naming the field. Tenants never see each other's through a filter."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.api.trust_keys import KEYS, Trust, make_keys, trust_config
from tests.doubles.judge_server import JudgeDouble
from tests.support import ServerThread, quorum_cli

GOOD = "Fine answer. [[q=5]]"
BAD = "Poor answer. [[q=1]]"


@pytest.fixture(scope="module")
def trust(tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble) -> Iterator[Trust]:
    """The tenants' server of tests/api/trust_keys.py, with the security profile and the
    `model` label capped at two values."""
    from api.app import create_app
    from api.settings import Settings
    from api.store.migrate import upgrade

    root = tmp_path_factory.mktemp("subjects")
    db = root / "q.db"
    upgrade(f"sqlite:///{db}")
    keys = make_keys(db, KEYS)
    path = trust_config(root / "q.yaml", double)
    config = yaml.safe_load(path.read_text())
    config["profiles"] = [{"use": "security", "judges": ["honest-1", "honest-2", "honest-3"]}]
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    settings = Settings(
        database_url=f"sqlite:///{db}",
        config=path,
        metrics_max_models=2,
        metrics_use_cases=["support-bot", "hr-faq"],
    )
    with ServerThread(create_app(settings), db) as server:
        yield Trust(server.url, keys, db)


def evaluate(trust: Trust, role: str, response: str, **extra: Any) -> dict[str, Any]:
    body = {"panel": "jury", "input": {"prompt": "Explain TCP.", "response": response}, **extra}
    r = trust.call(role, "POST", "/v1/evaluations", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def listed(trust: Trust, role: str, **query: Any) -> dict[str, Any]:
    r = trust.call(role, "GET", "/v1/evaluations", params=query)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_an_evaluation_stores_and_echoes_its_subject_and_use_case(trust: Trust) -> None:
    subject = {"model": "acme/gpt-x", "version": "2026-11"}
    ev = evaluate(trust, "evaluate", GOOD, subject=subject, use_case="support-bot")
    assert ev["subject"] == subject and ev["use_case"] == "support-bot"
    again = trust.call("evaluate", "GET", f"/v1/evaluations/{ev['id']}").json()
    assert again["subject"] == subject and again["use_case"] == "support-bot"
    with sqlite3.connect(trust.db) as conn:
        row = conn.execute(
            "SELECT subject_model, subject_version, use_case FROM evaluations WHERE id = ?",
            (ev["id"],),
        ).fetchone()
    assert row == ("acme/gpt-x", "2026-11", "support-bot")
    plain = evaluate(trust, "evaluate", GOOD)
    assert plain["subject"] is None and plain["use_case"] is None


def test_a_comparison_and_batch_items_carry_them(trust: Trust) -> None:
    pair = {"prompt": "p", "response_a": "[[q=5]]", "response_b": "[[q=2]]"}
    body = {"panel": "pair", "input": pair, "subject": {"model": "cmp-model"}, "use_case": "hr-faq"}
    r = trust.call("evaluate", "POST", "/v1/comparisons", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["subject"] == {"model": "cmp-model", "version": None}
    assert r.json()["use_case"] == "hr-faq"
    items = [
        {
            "panel": "jury",
            "input": {"prompt": "p", "response": GOOD},
            "subject": {"model": "batch-model"},
            "use_case": "hr-faq",
        },
        {"panel": "jury", "input": {"prompt": "p", "response": GOOD}, "use_case": "bad label!"},
    ]
    r = trust.call("evaluate", "POST", "/v1/evaluations/batch", json={"items": items})
    assert r.status_code == 200, r.text
    first, second = r.json()["data"]
    assert first["evaluation"]["subject"]["model"] == "batch-model"
    assert first["evaluation"]["use_case"] == "hr-faq"
    assert second["status"] == 422
    assert "use_case" in json.dumps(second["problem"])


def test_an_assessment_and_its_criteria_carry_them(trust: Trust) -> None:
    body = {
        "profile": "security",
        "input": {"prompt": "Summarise the ticket.", "response": "All good. [[q=pass]]"},
        "subject": {"model": "assess-model", "version": "v1"},
        "use_case": "support-bot",
    }
    r = trust.call("evaluate", "POST", "/v1/assessments", json=body)
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["subject"] == {"model": "assess-model", "version": "v1"}
    assert a["use_case"] == "support-bot"
    assert a["criteria"] and all(
        c["evaluation"]["subject"] == a["subject"] and c["evaluation"]["use_case"] == "support-bot"
        for c in a["criteria"]
    )
    got = trust.call("evaluate", "GET", f"/v1/assessments/{a['id']}").json()
    assert got["subject"] == a["subject"] and got["use_case"] == "support-bot"
    with sqlite3.connect(trust.db) as conn:
        row = conn.execute(
            "SELECT subject_model, subject_version, use_case FROM assessments WHERE id = ?",
            (a["id"],),
        ).fetchone()
    assert row == ("assess-model", "v1", "support-bot")
    crits = listed(trust, "evaluate", subject_model="assess-model")
    assert crits["count"] == len(a["criteria"])
    assert {e["assessment_id"] for e in crits["data"]} == {a["id"]}
    batch = trust.call(
        "evaluate", "POST", "/v1/assessments/batch", json={"items": [{**body, "use_case": ""}]}
    ).json()
    assert batch["data"][0]["status"] == 422 and "use_case" in json.dumps(batch["data"][0])


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"use_case": "has space"}, "use_case"),
        ({"use_case": "x" * 129}, "use_case"),
        ({"subject": {"model": ""}}, "model"),
        ({"subject": {"model": "m" * 257}}, "model"),
        ({"subject": {"model": "m", "version": "v" * 129}}, "version"),
        ({"subject": {"version": "1"}}, "model"),
        ({"subject": {"model": "m", "vendor": "x"}}, "vendor"),
        ({"subject": "gpt-x"}, "subject"),
    ],
)
def test_a_bad_subject_or_use_case_is_a_problem_naming_the_field(
    trust: Trust, extra: dict[str, Any], field: str
) -> None:
    body = {"panel": "jury", "input": {"prompt": "p", "response": GOOD}, **extra}
    r = trust.call("evaluate", "POST", "/v1/evaluations", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert field in json.dumps(problem)


def test_the_list_filters_by_subject_model_and_use_case(trust: Trust) -> None:
    for model, use_case in [("lst-a", "support-bot"), ("lst-a", "hr-faq"), ("lst-b", "hr-faq")]:
        evaluate(trust, "evaluate", GOOD, subject={"model": model}, use_case=use_case)
    both = listed(trust, "evaluate", subject_model="lst-a", use_case="hr-faq")
    assert both["count"] == 1
    assert both["data"][0]["subject"]["model"] == "lst-a"
    assert both["data"][0]["use_case"] == "hr-faq"
    by_model = listed(trust, "evaluate", subject_model="lst-a")
    assert by_model["count"] == 2
    times = [e["created_at"] for e in by_model["data"]]
    assert times == sorted(times, reverse=True)  # newest first
    page = listed(trust, "evaluate", subject_model="lst-a", limit=1, offset=1)
    assert page["count"] == 2 and len(page["data"]) == 1
    assert page["data"][0]["id"] == by_model["data"][1]["id"]
    assert listed(trust, "evaluate", subject_model="nobody")["count"] == 0
    r = trust.call("evaluate", "GET", "/v1/evaluations", params={"use_case": "no spaces!"})
    assert r.status_code == 422 and "use_case" in r.text


def test_a_filter_never_reaches_another_tenant(trust: Trust) -> None:
    mine = evaluate(trust, "evaluate", GOOD, subject={"model": "shared-name"}, use_case="hr-faq")
    theirs = evaluate(trust, "rival", GOOD, subject={"model": "shared-name"}, use_case="hr-faq")
    acme = listed(trust, "evaluate", subject_model="shared-name")
    globex = listed(trust, "rival", subject_model="shared-name")
    assert [e["id"] for e in acme["data"]] == [mine["id"]]
    assert [e["id"] for e in globex["data"]] == [theirs["id"]]
    root = listed(trust, "root", subject_model="shared-name")
    assert {e["id"] for e in root["data"]} == {mine["id"], theirs["id"]}
    # a key limited to panel "jury" lists no other panel's, and may not ask for one
    assert (
        trust.call("narrow", "GET", "/v1/evaluations", params={"panel": "pair"}).status_code == 403
    )
    narrow = listed(trust, "narrow", use_case="hr-faq")
    assert narrow["count"] > 0 and {e["panel"] for e in narrow["data"]} == {"jury"}
    # the export of one tenant's admin carries its own only
    lines = export(trust, "admin", subject_model="shared-name")
    assert [line["item"] for line in lines] == [mine["id"]]


def export(trust: Trust, role: str, **query: Any) -> list[dict[str, Any]]:
    r = trust.call(role, "GET", "/v1/audit/export", params=query)
    assert r.status_code == 200, r.text
    return [json.loads(line) for line in r.text.splitlines()]


def test_the_audit_export_carries_and_filters_them(trust: Trust, tmp_path: Path) -> None:
    ev = evaluate(
        trust, "evaluate", BAD, subject={"model": "exp-model", "version": "3"}, use_case="hr-faq"
    )
    evaluate(trust, "evaluate", BAD, subject={"model": "exp-model"}, use_case="support-bot")
    lines = export(trust, "admin", subject_model="exp-model", use_case="hr-faq")
    assert [line["item"] for line in lines] == [ev["id"]]
    audit = lines[0]["audit"]
    assert audit["subject"] == {"model": "exp-model", "version": "3"}
    assert audit["use_case"] == "hr-faq"
    assert len(export(trust, "admin", subject_model="exp-model")) == 2
    everything = export(trust, "root")
    assert all("subject" in line["audit"] and "use_case" in line["audit"] for line in everything)
    r = trust.call("root", "GET", "/v1/audit/export", params={"stream": "events", "use_case": "x"})
    assert r.status_code == 422 and "stream=records" in r.json()["detail"]
    # the CLI: the same filters, the same lines
    out = tmp_path / "exp.jsonl"
    config = tmp_path / "q.yaml"
    config.write_text((trust.db.parent / "q.yaml").read_text())
    proc = quorum_cli(
        "export",
        "--config",
        config,
        "--subject-model",
        "exp-model",
        "--use-case",
        "hr-faq",
        "--out",
        out,
        database=trust.db,
    )
    assert proc.returncode == 0, proc.stderr
    assert "exported 1 evaluation(s)" in proc.stderr
    [line] = [json.loads(x) for x in out.read_text().splitlines()]
    assert line["item"] == ev["id"] and line["audit"]["subject"]["model"] == "exp-model"
    refused = quorum_cli(
        "export", "--config", config, "--stream", "events", "--use-case", "x", database=trust.db
    )
    assert refused.returncode == 2 and "--stream records" in refused.stderr


def test_the_audit_chain_still_verifies(trust: Trust, tmp_path: Path) -> None:
    """Records with and without a subject hash to what their events pinned."""
    config = tmp_path / "q.yaml"
    config.write_text((trust.db.parent / "q.yaml").read_text())
    evaluate(trust, "evaluate", GOOD, subject={"model": "chain"}, use_case="hr-faq")
    evaluate(trust, "evaluate", GOOD)
    proc = quorum_cli("audit", "verify", "--config", config, database=trust.db)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_verdict_counters_have_capped_model_and_use_case_labels(trust: Trust) -> None:
    for model in ("cap-1", "cap-2", "cap-3", "cap-4"):
        evaluate(trust, "evaluate", BAD, subject={"model": model}, use_case="support-bot")
    evaluate(trust, "evaluate", BAD, subject={"model": "cap-1"}, use_case="unlisted")
    text = trust.call(None, "GET", "/metrics").text
    verdicts = [
        line for line in text.splitlines() if line.startswith('quorum_verdicts_total{app="none"')
    ]
    models = {_label(line, "model") for line in verdicts}
    use_cases = {_label(line, "use_case") for line in verdicts}
    # the first two subject models on a verdict series keep their name (which two depends
    # on the tests before); every later one is "other"; no subject is "none"
    assert "cap-3" not in models and "cap-4" not in models and "other" in models
    assert len(models - {"other", "none"}) == 2 and "none" in models
    # an allow-list: listed use cases keep their name, the rest are "other"
    assert use_cases <= {"support-bot", "hr-faq", "other", "none"} and "other" in use_cases


def _label(line: str, name: str) -> str:
    return line.split(f'{name}="', 1)[1].split('"', 1)[0]


def test_a_record_without_a_subject_hashes_as_before_migration_0014() -> None:
    """The audit events of evaluations stored before 0014 pinned records without the new
    columns: a row whose subject and use case are null hashes to the same record."""
    from api.store.digest import canonical_row
    from api.store.tables import EvaluationRow

    base = {"id": "e1", "panel": "jury", "status": "decided", "audit_draw": 0.5}
    plain = canonical_row(EvaluationRow, base)
    assert not {"subject_model", "subject_version", "use_case"} & plain.keys()
    assert "assessment_id" in plain  # an older column keeps its null
    named = canonical_row(EvaluationRow, {**base, "subject_model": "m", "use_case": "u"})
    assert named["subject_model"] == "m" and named["use_case"] == "u"
    assert "subject_version" not in named
