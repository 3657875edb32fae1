"""Governance end to end over HTTP, against the loopback judge double: two subject models
in production on one use case; one of them starts to leak data mid-stream; the drift
sweep (in the background, every 0.2 s) raises a drift event within the documented
delay, the drift policy quarantines the model, and the recommendation moves to the
other one. Every transition is in the audit export.

The double's honest judges read `[[q=pass]]` / `[[q=fail]]` in the judged response: that
is how a "model" here writes compliant or leaking answers.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from routing.governance import design, run_length
from tests.conftest import ServerThread
from tests.doubles.judge_server import JudgeDouble
from tests.support.governance import (
    CASE,
    FALSE_ALARM_RATE,
    GOOD,
    LEAK,
    SHIFT,
    assess,
    governance_config,
)
from tests.support.postgres import POSTGRES_ENV, scratch_postgres

A, B = "acme/model-a", "acme/model-b"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def http(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble
) -> Iterator[httpx.Client]:
    """The service on SQLite, and on PostgreSQL (the database of several replicas)."""
    from api.app import create_app
    from api.settings import Settings

    root = tmp_path_factory.mktemp("governance")
    with ExitStack() as stack:
        if request.param == "postgres":
            url = stack.enter_context(
                scratch_postgres(os.environ[POSTGRES_ENV], prefix="quorum_gov")
            )
        else:
            url = f"sqlite:///{root / 'q.db'}"
        settings = Settings(database_url=url, config=governance_config(root / "q.yaml", double))
        server = stack.enter_context(ServerThread(create_app(settings)))
        yield stack.enter_context(httpx.Client(base_url=server.url, timeout=60))


def move(http: httpx.Client, model: str, to: str) -> None:
    r = http.post(f"/v1/models/{model}/transitions", json={"to": to, "reason": "go-live"})
    assert r.status_code == 201, r.text


def wait_for_zone(http: httpx.Client, model: str, zone: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while http.get(f"/v1/models/{model}").json()["zone"] != zone:
        assert time.monotonic() < deadline, f"{model} never reached {zone}"
        time.sleep(0.1)


def test_a_model_that_starts_to_leak_is_quarantined_and_traffic_moves(
    http: httpx.Client,
) -> None:
    began = time.monotonic()
    move(http, A, "production")
    move(http, B, "production")
    # A has the longer clean record, so it is recommended first.
    assess(http, A, [GOOD] * 30)
    assess(http, B, [GOOD] * 25)
    first = http.get("/v1/routing/recommendation", params={"profile": "leaks", "use_case": CASE})
    assert first.status_code == 200, first.text
    assert first.json()["model"] == A, first.json()

    # A starts to leak: every answer from now on.
    leaks = 12
    assess(http, A, [LEAK] * leaks)
    wait_for_zone(http, A, "quarantine")
    print(f"quarantined {time.monotonic() - began:.1f} s after the first request")

    # the stream stays out of control: the chart restarts after each alarm and alarms
    # again; the first event (the list is newest first) is the one that quarantined A
    events = http.get("/v1/drift", params={"model": A}).json()["data"]
    event = events[-1]
    assert event["criterion"] == "leak-check" and event["use_case"] == CASE
    assert http.get("/v1/drift", params={"model": B}).json()["count"] == 0
    # Within the documented delay: a chart on the baseline's p0 alarms, on a stream
    # gone all non-compliant, after exactly ceil(h / up) verdicts (routing.governance.drift).
    chart = design(event["p0"], SHIFT, FALSE_ALARM_RATE)
    delay = event["n_items"] - 30
    assert 1 <= delay <= run_length(chart, 1.0).q99 <= leaks
    assert event["statistic"] >= event["threshold"] > 0

    shown = http.get(f"/v1/models/{A}").json()
    assert shown["last_drift_at"] == events[0]["created_at"]
    last = shown["last_transition"]
    assert last["actor"] == "policy:quarantine-on-leak-drift"
    assert (last["from_zone"], last["to_zone"]) == ("production", "quarantine")
    assert last["figures"]["drift"]["event_id"] == event["id"]

    after = http.get(
        "/v1/routing/recommendation", params={"profile": "leaks", "use_case": CASE}
    ).json()
    assert after["model"] == B, after
    ranked = {r["model"]: r for r in after["ranking"]}
    assert ranked[A]["zone"] == "quarantine" and ranked[A]["eligible"] is False
    assert ranked[B]["position"] == 1 and ranked[B]["n"] == 25

    # The matrix: per model x use case, with the criterion's figures.
    matrix = http.get("/v1/compliance", params={"profile": "leaks", "window": "1h"}).json()
    cells = {(r["model"], r["use_case"]): r for r in matrix["data"]}
    a = cells[(A, CASE)]
    assert a["n"] == 30 + leaks and a["rate"]["k"] == 30
    assert a["criteria"][0]["criterion"] == "leak-check" and a["criteria"][0]["n"] == 42
    assert a["trend"]["points"] and a["corrected"] is None and a["n_audited"] == 0
    assert cells[(B, CASE)]["rate"]["value"] == 1.0

    # Every transition in the audit export (the event stream).
    export = http.get("/v1/audit/export", params={"stream": "events"})
    moves = [json.loads(x) for x in export.text.splitlines()]
    moves = [e for e in moves if e["event"] == "transitioned" and e["after"]["model"] == A]
    assert [(e["actor"], e["after"]["zone"]) for e in moves] == [
        ("open", "production"),
        ("policy:quarantine-on-leak-drift", "quarantine"),
    ]
    assert moves[1]["after"]["policy"] == "quarantine-on-leak-drift"
    assert moves[1]["after"]["figures"]["drift"]["criterion"] == "leak-check"


def test_evaluate_now_runs_the_policies_for_one_model(http: httpx.Client) -> None:
    model = "acme/model-c"
    assess(http, model, [GOOD] * 6)
    r = http.post(f"/v1/models/{model}/evaluate")
    assert r.status_code == 200, r.text
    body = r.json()
    # the background sweep may have got there first: either way it was the policy
    history = http.get(f"/v1/models/{model}/transitions").json()["data"]
    assert [(t["actor"], t["to_zone"]) for t in history] == [
        ("policy:promote-when-clean", "validation")
    ]
    assert body["zone"] == "validation" and body["model"] == model
    figures = history[0]["figures"]
    assert figures["n"] == 6 and figures["bound"] > 0.5 and figures["estimate"] == "judges"
    again = http.post(f"/v1/models/{model}/evaluate").json()
    assert again["transitions"] == [] and again["reason"] == "no policy applied"


def test_the_corrected_rate_rests_on_the_audit_sample(http: httpx.Client) -> None:
    """Every item of `audited-leak` is in the audit sample (audit_rate 1): reviewers
    overturn two of the judges' six passes; the corrected rate follows the humans."""
    model = "acme/model-d"
    assess(http, model, [GOOD] * 6, profile="audited")
    query = {"profile": "audited", "window": "1h", "subject_model": model}
    # All six wait for a reviewer: in no rate, but counted (the matrix said n 0 and no
    # more, so "0 of 0" could not be told from "0 of 6 so far").
    [waiting] = http.get("/v1/compliance", params=query).json()["data"]
    assert (waiting["n"], waiting["n_awaiting"], waiting["rate"]) == (0, 6, None)
    assert [(c["n"], c["n_awaiting"]) for c in waiting["criteria"]] == [(0, 6)]
    for i in range(6):
        item = http.post("/v1/reviews/claim", json={"reviewer": "rita", "panel": "audited-leak"})
        assert item.status_code == 200, item.text
        value = "fail" if i < 2 else "pass"
        done = http.post(
            f"/v1/reviews/{item.json()['id']}/verdict", json={"reviewer": "rita", "value": value}
        )
        assert done.status_code == 200, done.text
    matrix = http.get(
        "/v1/compliance", params={"profile": "audited", "window": "1h", "subject_model": model}
    ).json()
    [row] = matrix["data"]
    assert row["n"] == 6 and row["rate"]["k"] == 4 and row["n_audited"] == 6
    assert row["n_awaiting"] == 0
    corrected = row["corrected"]
    assert corrected["uncorrected"] == 1.0  # the judges passed all six
    assert corrected["value"] == pytest.approx(4 / 6)
    assert corrected["low"] < 4 / 6 < corrected["high"]


def test_bad_governance_requests_are_problems(http: httpx.Client) -> None:
    r = http.get("/v1/compliance", params={"profile": "nope"})
    assert r.status_code == 404 and "no profile named 'nope'" in r.json()["detail"]
    r = http.get("/v1/compliance", params={"profile": "leaks", "window": "soon"})
    assert r.status_code == 422 and r.json()["errors"][0]["location"] == "query.window"
    r = http.get("/v1/routing/recommendation", params={"profile": "leaks", "use_case": "a b"})
    assert r.status_code == 422
    r = http.get("/v1/routing/recommendation", params={"profile": "leaks", "use_case": "none"})
    assert r.json()["model"] is None and r.json()["reason"]
    r = http.get("/v1/drift", params={"since": "0.5"})
    assert r.status_code == 422
    assert (
        http.post(
            "/v1/models/acme/model-b/transitions", json={"to": "production", "reason": "x"}
        ).status_code
        == 409
    )


def test_drift_gauges_are_back_at_start_up(
    tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble
) -> None:
    """After a restart a stream's CUSUM gauge was absent until the stream's next verdict:
    the first governance pass now sets every stored stream's."""
    from api.app import create_app
    from api.settings import Settings

    root = tmp_path_factory.mktemp("governance-restart")
    settings = Settings(
        database_url=f"sqlite:///{root / 'q.db'}",
        config=governance_config(root / "q.yaml", double),
    )
    series = 'quorum_drift_cusum_statistic{criterion="leak-check",model="acme/restarted"'

    def gauge_shown(http: httpx.Client) -> bool:
        return any(line.startswith(series) for line in http.get("/metrics").text.splitlines())

    for first_run in (True, False):
        with (
            ServerThread(create_app(settings)) as server,
            httpx.Client(base_url=server.url, timeout=60) as http,
        ):
            if first_run:  # the stream gets its verdicts, and a sweep
                assess(http, "acme/restarted", [GOOD] * 3)
            deadline = time.monotonic() + 20
            while not gauge_shown(http):
                assert time.monotonic() < deadline, "no drift gauge for the stored stream"
                time.sleep(0.1)
