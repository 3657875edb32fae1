"""Metrics: declared on an injectable registry, bounded labels, exported at /metrics."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from api.metric_labels import AppLabels, CappedLabels
from api.metrics import Metrics
from judges import CallErrorKind, Vote
from routing import Aggregation, RoutingPolicy, conclude
from rubrics import LIBRARY_DIR, Unscored, load_rubrics
from tests.doubles.judge_server import JudgeDouble
from tests.support import ServerThread, write_config

RUBRICS = load_rubrics([LIBRARY_DIR])


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
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
            {
                "panel": "p",
                "rubric": "safety",
                "app": "shop",
                "model": "none",
                "use_case": "none",
                "compliant": "true",
            },
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


def test_model_and_use_case_labels_are_capped_like_app() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(
        registry,
        models=CappedLabels(max_values=1),
        use_cases=CappedLabels(allowed=["support-bot"]),
    )
    rubric = RUBRICS["safety"]
    votes = [Vote(judge=j, model="m", value="pass", latency_ms=10) for j in ("a", "b")]
    verdict = conclude(
        rubric,
        votes,
        aggregation=Aggregation.MAJORITY,
        quorum=2,
        policy=RoutingPolicy(),
        weights={},
        audit_draw=0.5,
    )
    for model, use_case in [("m1", "support-bot"), ("m2", "support-bot"), (None, "hr")]:
        metrics.observe("p", rubric, None, verdict, [], model=model, use_case=use_case)
    metrics.observe_assessment("security", False, 0.5, model="m1", use_case="support-bot")
    get = registry.get_sample_value
    labels = {"panel": "p", "rubric": "safety", "app": "none", "compliant": "true"}
    assert get("quorum_verdicts_total", {**labels, "model": "m1", "use_case": "support-bot"}) == 1
    assert (
        get("quorum_verdicts_total", {**labels, "model": "other", "use_case": "support-bot"}) == 1
    )
    assert get("quorum_verdicts_total", {**labels, "model": "none", "use_case": "other"}) == 1
    assessed = {"profile": "security", "model": "m1", "use_case": "support-bot"}
    assert get("quorum_assessments_total", {**assessed, "compliant": "false"}) == 1


def test_drift_series_are_per_tenant() -> None:
    # Two tenants chart the same model's stream apart (routing.governance: one CUSUM per
    # tenant, model, use case and criterion): their series must not overwrite each other.
    registry = CollectorRegistry()
    metrics = Metrics(registry, tenants=CappedLabels(max_values=2))
    # acme's chart alarmed three times in the sweep and restarted each time (0.1 after):
    # three events, and the gauge at the threshold (it read 0.1, and counted 1 event).
    metrics.observe_drift("acme", "m1", "support-bot", "leak-check", 0.1, 3)
    metrics.observe_drift("globex", "m1", "support-bot", "leak-check", 0.25, 0)
    metrics.observe_drift("", "m1", "support-bot", "leak-check", 0.5, 0)  # no tenant
    metrics.observe_drift("initech", "m1", "support-bot", "leak-check", 0.75, 0)
    get = registry.get_sample_value
    stream = {"model": "m1", "use_case": "support-bot", "criterion": "leak-check"}
    statistic = "quorum_drift_cusum_statistic"
    assert get(statistic, {**stream, "tenant": "acme"}) == 1.0
    assert get(statistic, {**stream, "tenant": "globex"}) == 0.25
    assert get(statistic, {**stream, "tenant": "none"}) == 0.5
    assert get(statistic, {**stream, "tenant": "other"}) == 0.75  # past the cap
    assert get("quorum_drift_events_total", {**stream, "tenant": "acme"}) == 3
    assert get("quorum_drift_events_total", {**stream, "tenant": "globex"}) == 0


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


def test_no_created_series_on_a_fresh_registry() -> None:
    """prometheus-client adds `<name>_created` to every counter and histogram series unless
    told not to; api.metrics turns that off once, for the process."""
    metrics = Metrics(CollectorRegistry())
    metrics.refused.labels("p").inc()
    metrics.reviews_decided.labels("p").inc()
    metrics.judge_latency.labels("j").observe(0.3)
    text = generate_latest(metrics.registry).decode()
    names = {s.name for f in text_string_to_metric_families(text) for s in f.samples}
    assert "quorum_evaluations_refused_total" in names and "quorum_reviews_decided_total" in names
    assert not {n for n in names if n.endswith("_created")}, text


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble) -> Iterator[str]:
    """A service whose database-derived gauges refresh every 0.2 s."""
    from api.app import create_app
    from api.settings import Settings

    root = tmp_path_factory.mktemp("quorum-gauges")
    settings = Settings(
        database_url=f"sqlite:///{root / 'quorum.db'}",
        config=write_config(root / "quorum.yaml", double),
        gauge_refresh_s=0.2,
    )
    with ServerThread(create_app(settings), root / "quorum.db") as server:
        yield server.url


def _wait_for_samples(http: httpx.Client, ok: Callable[[Samples], bool]) -> Samples:
    deadline = time.monotonic() + 10
    while True:
        s = samples(http.get("/metrics").text)
        if ok(s) or time.monotonic() > deadline:
            return s
        time.sleep(0.1)


def test_queue_depth_counts_open_items_and_decisions_are_a_counter(refreshed: str) -> None:
    """Three items routed to humans; one decided, one claimed: the depth gauge shows one
    pending and one claimed, no `decided` series (a depth that never drains), and the
    decision is counted by quorum_reviews_decided_total."""
    split = (("panel", "split"),)
    with httpx.Client(base_url=refreshed, timeout=30) as http:
        for i in range(3):
            body = {"panel": "split", "input": {"prompt": f"p{i}", "response": f"r{i}"}}
            assert http.post("/v1/evaluations", json=body).json()["status"] == "in_review"
        item = http.post("/v1/reviews/claim", json={"reviewer": "a", "panel": "split"}).json()
        decided = http.post(f"/v1/reviews/{item['id']}/verdict", json={"reviewer": "a", "value": 2})
        assert decided.status_code == 200 and decided.json()["status"] == "decided"
        claim = http.post("/v1/reviews/claim", json={"reviewer": "b", "panel": "split"})
        assert claim.status_code == 200

        def depth(s: Samples, status: str) -> float:
            return s.get(("quorum_review_queue_depth", (*split, ("status", status))), -1)

        # Both figures: a refresh between the first claim and its verdict also shows one
        # claimed item (with two pending), and must not end the wait.
        s = _wait_for_samples(http, lambda s: depth(s, "pending") == depth(s, "claimed") == 1)
        assert depth(s, "pending") == 1 and depth(s, "claimed") == 1
        statuses = {dict(ls)["status"] for name, ls in s if name == "quorum_review_queue_depth"}
        assert statuses == {"pending", "claimed"}
        assert s[("quorum_reviews_decided_total", split)] == 1
        assert not [name for name, _ in s if name.endswith("_created")]
