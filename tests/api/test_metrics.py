"""Metrics: declared on an injectable registry, bounded labels, exported at /metrics."""

from __future__ import annotations

import httpx
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from api.metrics import AppLabels, Metrics
from judges import CallErrorKind, Vote
from routing import Aggregation, RoutingPolicy, conclude
from rubrics import LIBRARY_DIR, Unscored, load_rubrics

RUBRICS = load_rubrics([LIBRARY_DIR])


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_observe_counts_on_a_fresh_registry() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    rubric = RUBRICS["safety"]
    votes = [
        Vote(
            judge="a",
            model="m",
            value="pass",
            latency_ms=200,
            prompt_tokens=100,
            completion_tokens=10,
            cost_usd=0.001,
        ),
        Vote(judge="b", model="m", value="pass", latency_ms=300),
        Vote(judge="c", model="m", unscored=Unscored.NO_JSON, latency_ms=100),
        Vote(judge="d", model="m", error=CallErrorKind.TIMEOUT, latency_ms=30_000),
    ]
    verdict = conclude(
        rubric,
        votes,
        aggregation=Aggregation.MAJORITY,
        quorum=2,
        policy=RoutingPolicy(),
        weights={},
        audit_draw=0.5,
    )
    metrics.observe("p", rubric, "shop", verdict, votes)
    get = registry.get_sample_value
    assert (
        get(
            "quorum_evaluations_total",
            {"panel": "p", "rubric": "safety", "app": "shop", "decision": "auto"},
        )
        == 1
    )
    assert (
        get(
            "quorum_verdicts_total",
            {"panel": "p", "rubric": "safety", "app": "shop", "compliant": "true"},
        )
        == 1
    )
    assert get("quorum_judge_requests_total", {"judge": "c", "outcome": "unscored"}) == 1
    assert get("quorum_judge_requests_total", {"judge": "d", "outcome": "timeout"}) == 1
    assert get("quorum_judge_unscored_total", {"judge": "c", "reason": "no_json"}) == 1
    assert get("quorum_judge_tokens_total", {"judge": "a", "kind": "prompt"}) == 100
    assert get("quorum_judge_cost_usd_total", {"judge": "a"}) == 0.001
    assert get("quorum_judge_latency_seconds_bucket", {"judge": "d", "le": "20.0"}) == 0
    assert get("quorum_judge_latency_seconds_count", {"judge": "d"}) == 1
    assert get("quorum_verdict_score_count", {"panel": "p", "rubric": "safety", "app": "shop"}) == 1


def test_app_label_is_capped() -> None:
    free = AppLabels(max_apps=2)
    assert [free(a) for a in ["x", "y", "z", "x", None]] == ["x", "y", "other", "x", "none"]
    listed = AppLabels(allowed=["shop"])
    assert listed("shop") == "shop" and listed("evil-123") == "other"


def test_metrics_endpoint_after_evaluations(http: httpx.Client) -> None:
    body = {
        "panel": "jury",
        "input": {"prompt": "p", "response": "[[q=5]]"},
        "metadata": {"app": "docs"},
    }
    assert http.post("/v1/evaluations", json=body).status_code == 200
    split = {"panel": "split", "input": {"prompt": "p", "response": "x"}}
    assert http.post("/v1/evaluations", json=split).status_code == 200
    r = http.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    s = samples(r.text)
    key = (
        "quorum_evaluations_total",
        (("app", "docs"), ("decision", "auto"), ("panel", "jury"), ("rubric", "helpfulness")),
    )
    assert s[key] >= 1
    assert s[("quorum_routed_total", (("panel", "split"), ("reason", "low_agreement")))] >= 1
    assert s[("quorum_judge_requests_total", (("judge", "honest-1"), ("outcome", "ok")))] >= 1
