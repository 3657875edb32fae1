"""Sequential and cascade panels ask fewer judges, over HTTP against the double."""

from __future__ import annotations

import httpx

from tests.doubles.judge_server import JudgeDouble


def judge(http: httpx.Client, panel: str, response: str) -> dict:
    r = http.post(
        "/v1/evaluations", json={"panel": panel, "input": {"prompt": "p", "response": response}}
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_sequential_stops_when_the_rest_cannot_matter(
    http: httpx.Client, double: JudgeDouble
) -> None:
    double.reset()
    ev = judge(http, "sequential-jury", "[[q=4]]")
    assert [v["judge"] for v in ev["votes"]] == ["honest-1", "honest-2", "honest-3"]
    assert len(double.requests) == 3  # the fixed-1 and fixed-5 judges were never called
    assert ev["verdict"]["value"] == 4


def test_sequential_asks_on_while_the_verdict_could_change(
    http: httpx.Client, double: JudgeDouble
) -> None:
    double.reset()
    ev = judge(http, "sequential-split", "[[q=4]]")
    # wave 1: 1 vs 5 (open); wave 2: 4, 4 (lead of 1 with one judge left: a tie is still
    # possible); wave 3: 4 -> every judge was needed, and the verdict is the full panel's.
    assert [v["judge"] for v in ev["votes"]] == [
        "fixed-1",
        "fixed-5",
        "honest-1",
        "honest-2",
        "honest-3",
    ]
    assert len(double.requests) == 5
    assert ev["verdict"]["value"] == 4


def test_cascade_stops_on_confidence(http: httpx.Client, double: JudgeDouble) -> None:
    double.reset()
    ev = judge(http, "cascade-jury", "[[q=5]]")
    assert [v["judge"] for v in ev["votes"]] == ["honest-1", "honest-2"]
    assert len(double.requests) == 2
    assert ev["confidence"] == 0.75  # (2 + 1) / (2 + 2)
