"""Score distributions from logprobs, and pointwise scale-order swapping, over HTTP."""

from __future__ import annotations

import httpx
import pytest

from tests.doubles.judge_server import JudgeDouble


def test_logprobs_give_a_distribution_and_temper_confidence(
    http: httpx.Client, double: JudgeDouble
) -> None:
    double.reset()
    body = {"panel": "lp-jury", "input": {"prompt": "p", "response": "[[q=4]]"}}
    ev = http.post("/v1/evaluations", json=body).json()
    sent = {r["model"]: r for r in double.requests}
    assert sent["logprobs-honest"]["logprobs"] is True
    assert sent["logprobs-honest"]["top_logprobs"] >= 2
    assert "logprobs" not in sent["honest"]
    by_judge = {v["judge"]: v for v in ev["votes"]}
    dist = by_judge["lp-1"]["distribution"]
    # The double puts 0.7 on the answer, 0.12 on each neighbour and 0.03 two away.
    assert dist == pytest.approx(
        {"4": 0.7 / 0.97, "3": 0.12 / 0.97, "5": 0.12 / 0.97, "2": 0.03 / 0.97}
    )
    assert by_judge["lp-1"]["expected"] == pytest.approx(
        (0.7 * 3 + 0.12 * 2 + 0.12 * 4 + 0.03 * 1) / 0.97
    )
    assert 0 < by_judge["lp-1"]["entropy"] < 1
    assert by_judge["honest-3"]["distribution"] is None
    # Two judges 72% sure and one certain: k = 2 * 0.72 + 1, confidence (k + 1) / (3 + 2).
    assert ev["confidence"] == pytest.approx((2 * 0.7 / 0.97 + 1 + 1) / 5)
    assert ev["verdict"]["value"] == 4


def test_scale_swap_detects_an_order_sensitive_judge(http: httpx.Client) -> None:
    body = {"panel": "scale-swap", "input": {"prompt": "p", "response": "[[q=4]]"}}
    ev = http.post("/v1/evaluations", json=body).json()
    assert len(ev["votes"]) == 6  # 3 judges x 2 scale listings
    listfirst = [v for v in ev["votes"] if v["judge"] == "listfirst"]
    assert sorted((v["reversed_scale"], v["value"]) for v in listfirst) == [(False, 1), (True, 5)]
    judges = {j["judge"]: j for j in ev["judges"]}
    assert judges["listfirst"]["consistent"] is False
    assert judges["listfirst"]["value"] == 3  # midpoint of 1 and 5
    assert judges["honest-1"]["consistent"] is True
    assert ev["agreement"]["position_consistency"] == pytest.approx(2 / 3)
    assert ev["verdict"]["value"] == 4
