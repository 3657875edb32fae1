"""Calibrating a panel's threshold from human verdicts, storing it, putting it in force."""

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


def test_calibration_is_stored_versioned_and_applied(
    http: httpx.Client, quorum: ServerThread
) -> None:
    none_yet = http.post("/v1/panels/split/calibration", json={"alpha": 0.2})
    assert none_yet.status_code == 422 and "no human-reviewed" in none_yet.json()["detail"]

    # The split panel (votes 1, 3, 5) answers 1 with confidence 0.4 and routes everything.
    route_to_humans(http, "split", 40)
    review_all(http, "split", 1, 38)  # humans agree with the panel...
    review_all(http, "split", 4, 2)  # ...on 38 of 40
    env = {**os.environ, "QUORUM_DATABASE_URL": f"sqlite:///{quorum.database}"}
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "calibrate",
            "split",
            "--alpha",
            "0.2",
            "--delta",
            "0.1",
            "--dry-run",
            "--config",
            str(quorum.database.parent / "quorum.yaml"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    assert "calibration v1: threshold 0.4000" in cli.stdout and "dry run" in cli.stdout

    r = http.post("/v1/panels/split/calibration", json={"alpha": 0.2, "delta": 0.1})
    assert r.status_code == 200
    cal = r.json()
    assert cal["version"] == 2 and cal["applied"] and cal["certified"]
    assert cal["threshold"] == 0.4 and cal["n_items"] == 40 and cal["coverage"] == 1.0
    assert cal["risk"] == 2 / 40
    # Fixed-sequence test at the one candidate: P(Bin(40, 0.2) <= 2) must be <= delta.
    assert cal["curve"][0]["p_value"] == binom.cdf(2, 40, 0.2)

    # In force: confidence 0.4 is no longer "low" (the other checks still apply).
    ev = http.post(
        "/v1/evaluations", json={"panel": "split", "input": {"prompt": "p", "response": "r"}}
    ).json()
    codes = {reason["code"] for reason in ev["routing"]["reasons"]}
    assert "low_confidence" not in codes and "low_agreement" in codes

    history = http.get("/v1/panels/split/calibration").json()
    assert [c["version"] for c in history["data"]] == [2, 1]
    assert [c["applied"] for c in history["data"]] == [True, False]


def test_strict_alpha_certifies_nothing(http: httpx.Client) -> None:
    r = http.post("/v1/panels/split/calibration", json={"alpha": 0.01, "apply": False})
    assert r.status_code == 200
    assert r.json()["certified"] is False and r.json()["threshold"] is None
    assert http.post("/v1/panels/split/calibration", json={"alpha": 2}).status_code == 422
    assert http.post("/v1/panels/nope/calibration", json={"alpha": 0.1}).status_code == 404
