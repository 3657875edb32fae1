"""Calibrating a panel's threshold from human verdicts: a dry run unless applied, never
applied uncertified, undone by a reset; over HTTP and on the command line."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
from scipy.stats import binom

from tests.support import ServerThread
from tests.support.reviews import route_to_humans


def review_all(http: httpx.Client, panel: str, value: object, n: int) -> None:
    for _ in range(n):
        item = http.post("/v1/reviews/claim", json={"reviewer": "cal", "panel": panel}).json()
        r = http.post(f"/v1/reviews/{item['id']}/verdict", json={"reviewer": "cal", "value": value})
        assert r.status_code == 200


def calibrate_cli(quorum: ServerThread, *args: str) -> subprocess.CompletedProcess[str]:
    assert quorum.database is not None
    env = {**os.environ, "QUORUM_DATABASE_URL": f"sqlite:///{quorum.database}"}
    config = str(quorum.database.parent / "quorum.yaml")
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "calibrate", *args, "--config", config],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def low_confidence_routed(http: httpx.Client) -> bool:
    ev = http.post(
        "/v1/evaluations", json={"panel": "split", "input": {"prompt": "p", "response": "r"}}
    ).json()
    codes = {reason["code"] for reason in ev["routing"]["reasons"]}
    assert "low_agreement" in codes  # the split panel always disagrees with itself
    return "low_confidence" in codes


def test_calibration_dry_runs_refuses_uncertified_and_resets(
    http: httpx.Client, quorum: ServerThread
) -> None:
    none_yet = http.post("/v1/panels/split/calibration", json={"alpha": 0.2})
    assert none_yet.status_code == 422 and "no human-reviewed" in none_yet.json()["detail"]
    assert none_yet.json()["errors"][0]["message"] == none_yet.json()["detail"]

    # The split panel (votes 1, 3, 5) answers 1 with confidence 0.4 and routes everything.
    # 8 agreeing reviews (the case) cannot certify anything at alpha = delta = 0.1.
    route_to_humans(http, "split", 8)
    review_all(http, "split", 1, 8)
    cli = calibrate_cli(quorum, "split", "--alpha", "0.1", "--delta", "0.1", "--apply")
    assert cli.returncode == 1, cli.stderr
    assert "calibration v1: threshold none certified" in cli.stdout
    # 38 items at or above a threshold, where one disagreement could still pass
    # (P(Bin(38, 0.1) <= 1) <= 0.1): 30 more agreeing reviews
    assert "needs at least 30 more human reviews" in cli.stdout
    assert "not applied: nothing certified; the threshold in force stays 0.6" in cli.stdout
    r = http.post(
        "/v1/panels/split/calibration", json={"alpha": 0.1, "delta": 0.1, "apply": True}
    ).json()
    assert r["version"] == 2 and not r["certified"] and not r["applied"]
    assert r["reviews_needed"] == 30 and r["kind"] == "calibration"
    assert low_confidence_routed(http)  # the configured 0.6 stays in force

    route_to_humans(http, "split", 31)  # 32 waiting, with the one just routed
    review_all(http, "split", 1, 30)  # humans agree with the panel on 38 of 40
    review_all(http, "split", 4, 2)

    # Dry run by default, on the command line and over HTTP.
    cli = calibrate_cli(quorum, "split", "--alpha", "0.2", "--delta", "0.1")
    assert cli.returncode == 0, cli.stderr
    assert "calibration v3: threshold 0.4000" in cli.stdout and "dry run" in cli.stdout
    dry = http.post("/v1/panels/split/calibration", json={"alpha": 0.2, "delta": 0.1}).json()
    assert dry["version"] == 4 and dry["certified"] and not dry["applied"]
    assert low_confidence_routed(http)

    r = http.post("/v1/panels/split/calibration", json={"alpha": 0.2, "delta": 0.1, "apply": True})
    assert r.status_code == 200
    cal = r.json()
    assert cal["version"] == 5 and cal["applied"] and cal["certified"]
    assert cal["reviews_needed"] is None
    assert cal["threshold"] == 0.4 and cal["n_items"] == 40 and cal["coverage"] == 1.0
    assert cal["risk"] == 2 / 40
    # Fixed-sequence test at the one candidate: P(Bin(40, 0.2) <= 2) must be <= delta.
    assert cal["curve"][0]["p_value"] == binom.cdf(2, 40, 0.2)
    # In force: confidence 0.4 is no longer "low" (the other checks still apply).
    assert not low_confidence_routed(http)

    # The undo: the configured threshold again, recorded as a version.
    reset = http.post("/v1/panels/split/calibration", json={"reset": True}).json()
    assert reset["version"] == 6 and reset["kind"] == "reset" and reset["applied"]
    assert reset["threshold"] == 0.6 and reset["n_items"] == 0
    assert low_confidence_routed(http)
    cli = calibrate_cli(quorum, "split", "--reset")
    assert cli.returncode == 0, cli.stderr
    assert "v7: reset: the configured threshold 0.6 is in force again" in cli.stdout

    history = http.get("/v1/panels/split/calibration").json()
    assert [c["version"] for c in history["data"]] == [7, 6, 5, 4, 3, 2, 1]
    assert [c["applied"] for c in history["data"]] == [True, True, True] + [False] * 4
    assert [c["kind"] for c in history["data"]][:2] == ["reset", "reset"]


def test_strict_alpha_certifies_nothing(http: httpx.Client) -> None:
    r = http.post("/v1/panels/split/calibration", json={"alpha": 0.01, "apply": True})
    assert r.status_code == 200
    assert r.json()["certified"] is False and r.json()["threshold"] is None
    assert r.json()["applied"] is False and r.json()["reviews_needed"] > 0
    # Each bad body is one error at its own field (the body was a union of two models,
    # which reported every member's complaints, at `body.CalibrationRequest.alpha`).
    for body, location, said in (
        ({"alpha": 2}, "body.alpha", "Input should be less than 1"),
        ({}, "body.alpha", "Field required (or reset: true"),
        ({"reset": False}, "body.alpha", "Field required"),
        ({"alpha": 0.1, "reset": True}, "body.alpha", "reset: true takes no alpha"),
        ({"reset": True, "apply": True}, "body.apply", "reset: true takes no apply"),
        ({"alpha": 0.1, "typo": 1}, "body.typo", "Extra inputs are not permitted"),
    ):
        r = http.post("/v1/panels/split/calibration", json=body)
        assert r.status_code == 422, body
        errors = r.json()["errors"]
        assert [e["location"] for e in errors] == [location], (body, errors)
        assert errors[0]["message"].startswith(said), (body, errors)
    assert http.post("/v1/panels/nope/calibration", json={"alpha": 0.1}).status_code == 404
