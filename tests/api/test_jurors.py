"""Jurors and checklists end to end: HTTP -> Quorum -> (litellm -> the judge double | a
pattern juror) -> SQLite, and back through GET, /metrics and the stored rows."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from rubrics import LIBRARY_DIR, load_rubrics
from rubrics.checklist import permutation
from tests.conftest import ServerThread
from tests.doubles.judge_server import JudgeDouble

CHECKLIST = load_rubrics([LIBRARY_DIR])["transparency-checklist"]


def judges(double: JudgeDouble) -> list[dict[str, object]]:
    b = double.base_url
    llm = [("honest-1", "honest"), ("honest-2", "honest"), ("c1", "checklist"), ("c2", "checklist")]
    return [
        *({"name": n, "model": f"openai/{m}", "api_base": b} for n, m in llm),
        {"name": "swayed", "model": "openai/checklist-firstno", "api_base": b},
        {"name": "leaks", "type": "pattern"},
        {"name": "secrets-only", "type": "pattern", "sets": ["secrets"]},
    ]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble) -> Iterator[ServerThread]:
    from api.app import create_app
    from api.settings import Settings

    root = tmp_path_factory.mktemp("jurors")
    config = {
        "judges": judges(double),
        "panels": [
            {
                "name": "leak-mixed",
                "rubric": "data-leakage",
                "redact": False,
                "judges": ["honest-1", "leaks"],
                "quorum": 2,
            },
            {
                "name": "leak-weighted",
                "rubric": "data-leakage",
                "redact": False,
                "aggregation": "weighted",
                "judges": ["honest-1", "honest-2", "leaks", "secrets-only"],
            },
            {
                "name": "transparency",
                "rubric": "transparency-checklist",
                "judges": ["c1", "c2", "swayed"],
            },
        ],
    }
    path = root / "quorum.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    settings = Settings(database_url=f"sqlite:///{root / 'quorum.db'}", config=path)
    with ServerThread(create_app(settings), root / "quorum.db") as running:
        yield running


@pytest.fixture
def http(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def evaluate(http: httpx.Client, panel: str, response: str) -> dict[str, object]:
    body = {"panel": panel, "input": {"prompt": "Who can I contact?", "response": response}}
    r = http.post("/v1/evaluations", json=body)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def stored_votes(server: ServerThread, evaluation_id: str) -> list[dict[str, object]]:
    with sqlite3.connect(f"file:{server.database}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute(
            "SELECT * FROM votes WHERE evaluation_id = ? ORDER BY id", (evaluation_id,)
        ).fetchall()
    return [dict(r) for r in rows]


def test_a_pattern_juror_and_an_llm_judge_on_one_panel(
    http: httpx.Client, server: ServerThread
) -> None:
    ev = evaluate(http, "leak-mixed", "Write to jane.doe@gmail.com. [[q=pass]]")
    votes = {v["judge"]: v for v in ev["votes"]}  # type: ignore[attr-defined]
    assert votes["honest-1"]["value"] == "pass" and votes["honest-1"]["prompt_tokens"]
    leaks = votes["leaks"]
    assert (leaks["value"], leaks["model"]) == ("fail", "pattern")
    assert leaks["rationale"] == "found 1: e-mail address ja…om (18 chars)"
    assert leaks["latency_ms"] > 0 and leaks["prompt_tokens"] is None
    # two usable votes that disagree: counted, and the split goes to humans
    assert ev["agreement"]["usable_votes"] == 2 and ev["agreement"]["fleiss_p_i"] == 0.0  # type: ignore[index]
    assert ev["verdict"]["value"] == "fail"  # type: ignore[index]  # a tie breaks to the worse value
    assert ev["status"] == "in_review"
    # stored: GET answers the same votes, and the rows are in the database
    again = http.get(f"/v1/evaluations/{ev['id']}").json()
    assert again["votes"] == ev["votes"]
    rows = {r["judge"]: r for r in stored_votes(server, str(ev["id"]))}
    assert rows["leaks"]["value"] == '"fail"' and rows["leaks"]["model"] == "pattern"
    assert "jane.doe" not in str(rows["leaks"]["raw_output"])
    assert json.loads(str(rows["leaks"]["raw_output"]))["matches"][0]["set"] == "email"
    # in the metrics under its judge label, latency included
    metrics = http.get("/metrics").text
    assert 'quorum_judge_requests_total{judge="leaks",outcome="ok"}' in metrics
    assert 'quorum_judge_latency_seconds_count{judge="leaks"}' in metrics


def test_a_juror_is_weighted_like_any_judge(http: httpx.Client) -> None:
    ev = evaluate(http, "leak-weighted", "Mail jane.doe@gmail.com. [[q=pass]]")
    assert {j["judge"]: j["weight"] for j in ev["judges"]} == {  # type: ignore[attr-defined]
        "honest-1": 1.0,
        "honest-2": 1.0,
        "leaks": 1.0,
        "secrets-only": 1.0,
    }
    by_judge = {v["judge"]: v["value"] for v in ev["votes"]}  # type: ignore[attr-defined]
    assert by_judge == {
        "honest-1": "pass",
        "honest-2": "pass",
        "leaks": "fail",
        "secrets-only": "pass",
    }
    assert ev["verdict"]["value"] == "pass"  # type: ignore[index]


def test_panels_list_the_juror_type(http: httpx.Client) -> None:
    panels = {p["name"]: p for p in http.get("/v1/panels").json()["data"]}
    types = {j["name"]: j["type"] for j in panels["leak-mixed"]["judges"]}
    assert types == {"honest-1": "llm", "leaks": "pattern"}


def test_a_checklist_end_to_end(http: httpx.Client, server: ServerThread) -> None:
    ev = evaluate(http, "transparency", "I cannot reach your bank. [[no=names-sources]]")
    # the optional question failed for c1 and c2; swayed answered no to whatever it saw first
    questions = {q["id"]: q for q in ev["questions"]}  # type: ignore[attr-defined]
    assert list(questions) == [q.id for q in CHECKLIST.questions]
    assert (
        questions["names-sources"]["value"] == "no"
        and questions["names-sources"]["required"] is False
    )
    for qid in ("no-human-claim", "no-false-capability", "states-limits"):
        assert questions[qid]["value"] == "yes", qid
    assert ev["verdict"] == {"value": "pass", "compliant": True, "source": "panel"}
    for vote in ev["votes"]:  # type: ignore[attr-defined]
        assert vote["question_order"] == list(permutation(CHECKLIST, str(ev["id"]), vote["judge"]))
        assert set(vote["answers"]) == {q.id for q in CHECKLIST.questions}
    swayed = next(v for v in ev["votes"] if v["judge"] == "swayed")  # type: ignore[attr-defined]
    assert swayed["answers"][swayed["question_order"][0]] == "no"
    first = swayed["question_order"][0]
    if first != "names-sources":
        assert questions[first]["agreement"]["fleiss_p_i"] == pytest.approx(1 / 3)
        assert questions[first]["answers"] == {"c1": "yes", "c2": "yes", "swayed": "no"}
    # stored: GET answers the same, and the rows hold the order and the answers
    again = http.get(f"/v1/evaluations/{ev['id']}").json()
    assert again["questions"] == ev["questions"] and again["votes"] == ev["votes"]
    rows = stored_votes(server, str(ev["id"]))
    assert [json.loads(str(r["question_order"])) for r in rows] == [
        v["question_order"]
        for v in ev["votes"]  # type: ignore[attr-defined]
    ]
    rubric = http.get("/v1/rubrics").json()["data"]
    shown = next(r for r in rubric if r["id"] == "transparency-checklist")
    assert shown["mode"] == "checklist" and len(shown["questions"]) == 4


def test_a_checklist_failing_a_required_question(http: httpx.Client) -> None:
    ev = evaluate(http, "transparency", "I have emailed your bank. [[no=no-false-capability]]")
    questions = {q["id"]: q for q in ev["questions"]}  # type: ignore[attr-defined]
    assert questions["no-false-capability"]["value"] == "no"
    assert questions["no-false-capability"]["passed"] is False
    assert ev["verdict"]["value"] == "fail" and ev["verdict"]["compliant"] is False  # type: ignore[index]


def test_a_checklist_panel_is_not_a_comparison(http: httpx.Client) -> None:
    body = {"panel": "transparency", "input": {"prompt": "p", "response_a": "a", "response_b": "b"}}
    r = http.post("/v1/comparisons", json=body)
    assert r.status_code == 422 and "use /v1/evaluations" in r.json()["detail"]


def test_the_audit_export_of_a_checklist_loads_in_the_backtest(
    http: httpx.Client, tmp_path: Path
) -> None:
    from backtest.datasets import load_dataset

    ev = evaluate(http, "transparency", "Plain answer. [[bad=states-limits]]")
    lines = http.get("/v1/audit/export", params={"panel": "transparency"}).text.splitlines()
    records = [json.loads(line) for line in lines]
    mine = next(r for r in records if r["item"] == ev["id"])
    assert mine["mode"] == "checklist" and len(mine["questions"]) == 4
    c1 = next(v for v in mine["votes"] if v["judge"] == "c1")
    assert c1["answers"]["states-limits"] is None and c1["unscored"] == "incomplete"
    assert c1["question_order"] == list(permutation(CHECKLIST, str(ev["id"]), "c1"))
    folder = tmp_path / "transparency"
    folder.mkdir()
    (folder / "votes.jsonl").write_text("\n".join(lines) + "\n")
    data = load_dataset(folder)
    item = next(i for i in data.items if i.item == ev["id"])
    assert item.votes[0].answers == c1["answers"]
    assert [q.id for q in data.rubric.questions] == [q.id for q in CHECKLIST.questions]
