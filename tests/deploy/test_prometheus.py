"""The dashboard and alert rules against a real Prometheus scraping a real Quorum.

`quorum serve --workers 2` runs as a process (prometheus-client multiprocess mode) on a
fresh SQLite file, judging through litellm against the loopback judge double. Evaluations
across panels create every kind of sample; /metrics must add up over both workers; then a
real Prometheus scrapes it every second, loads deploy/prometheus/rules, and every query of
the Grafana dashboard and every alert condition must evaluate and return series.

Needs `prometheus` and `promtool` (.ci/system-deps): skipped without them, failed in CI.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.promql import (
    DEPLOY,
    RULES_DIR,
    Query,
    alert_rules,
    conditions,
    dashboard_queries,
    load_dashboard,
    variable_queries,
)
from tests.doubles.judge_server import JudgeDouble
from tests.support import free_port, log_tail, require_binary, running, wait_for, write_config

# Metrics a freshly started service cannot have yet. Queries over them must parse (the
# query succeeds) but may return no series:
MAY_BE_EMPTY = {
    # Judge-vs-human Cohen's kappa: needs human verdicts from the review queue on the
    # panel's items; this test posts none.
    "quorum_judge_human_kappa",
    # Position bias: declared in api/metrics.py, but api/gauges.py does not set it yet.
    "quorum_judge_position_bias",
    # Vote cache look-ups: only counted when QUORUM_VOTE_CACHE is on (it is off here).
    "quorum_vote_cache_requests",
    # Admission-control refusals: only when a process is full; this test never fills one.
    "quorum_evaluations_refused",
    # Failed evaluations: none fails here (tests/api/test_replica_fencing.py counts one).
    "quorum_evaluations_failed",
    # Profiles: counted by assessments (POST /v1/assessments) and n/a verdicts; this test
    # configures no profile and no rubric with n/a (tests/api/test_assessments.py reads
    # them from /metrics).
    "quorum_assessments",
    "quorum_assessment_score",
    "quorum_verdicts_not_applicable",
    # Governance: the compliance matrix needs assessments with a subject, drift a stream
    # of them, zones a transition; tests/deploy/test_governance_alerts.py has all three.
    "quorum_compliance_",
    "quorum_drift_",
    "quorum_models_in_zone",
}

# Judge prices, so that quorum_judge_cost_usd_total has samples: litellm knows no price
# for the double's model names and, rightly, reports the cost as unknown. litellm accepts
# custom per-token prices as completion params.
PRICED = {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}


@dataclass
class Served:
    url: str
    metrics_dir: Path
    log: Path
    posted: Counter[str]
    """Evaluations and comparisons posted, per panel."""
    compliant: Counter[str]
    """Compliant verdicts among them, per panel."""

    def post(self, client: httpx.Client, panel: str, text: str, app: str) -> dict[str, Any]:
        if panel == "pair":
            body: dict[str, Any] = {
                "panel": panel,
                "input": {"prompt": "Which?", "response_a": text, "response_b": "meh [[q=2]]"},
            }
            path = "/v1/comparisons"
        else:
            body = {"panel": panel, "input": {"prompt": "Help me.", "response": text}}
            path = "/v1/evaluations"
        body["metadata"] = {"app": app}
        r = client.post(f"{self.url}{path}", json=body)
        assert r.status_code == 200, r.text
        ev: dict[str, Any] = r.json()
        return ev

    def post_all(self, items: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
        """Post concurrently, so that both workers take some (the kernel picks the worker)."""
        with httpx.Client(timeout=60) as client, ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda it: self.post(client, *it), items))
        for ev in results:
            self.posted[ev["panel"]] += 1
            self.compliant[ev["panel"]] += ev["verdict"]["compliant"] is True
        return results


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


FIRST_BATCH = (
    # 12 on the honest jury, scores 1..5: enough items for the panel's Fleiss' kappa.
    [("jury", f"answer [[q={i % 5 + 1}]]", "shop") for i in range(12)]
    + [("split", "whatever", "docs")] * 2  # fixed-1/3/5 disagree: routed, low_agreement
    + [("degraded", "fine [[q=4]]", "docs")] * 2  # 500s and garbage: below quorum
    + [("safety", "ok [[q=pass]]", "docs"), ("safety", "leak [[q=fail]]", "docs")]
    + [("pair", "great [[q=5]]", "shop")] * 2  # both orders per judge
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble) -> Iterator[Served]:
    """`quorum serve --workers 2` with the first batch of evaluations posted."""
    root = tmp_path_factory.mktemp("quorum-2w")
    config = write_config(root / "quorum.yaml", double)
    data = yaml.safe_load(config.read_text())
    for j in data["judges"]:
        if j["name"].startswith("honest-"):
            j["params"] = {**j.get("params", {}), **PRICED}
    config.write_text(yaml.safe_dump(data, sort_keys=False))

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(
        QUORUM_DATABASE_URL=f"sqlite:///{root / 'quorum.db'}",
        QUORUM_GAUGE_REFRESH_S="1",
        # The judge check on, as in production (tests/conftest.py turns it off): it sets
        # quorum_judge_up, which the dashboard shows; every test panel keeps its quorum.
        QUORUM_JUDGE_CHECK_INTERVAL_S="60",
        # `quorum serve` makes the multiprocess directory with mkdtemp: keep it in here.
        TMPDIR=str(root),
    )
    cmd = [sys.executable, "-m", "api.cli", "serve", "--config", str(config)]
    cmd += ["--port", str(port), "--workers", "2"]
    log = root / "quorum.log"
    with running(cmd, log, env) as proc:
        url = f"http://127.0.0.1:{port}"
        wait_for(
            "quorum readiness",
            lambda: httpx.get(f"{url}/readyz", timeout=2).status_code == 200,
            60,
            proc,
            log,
        )
        dirs = list(root.glob("quorum-metrics-*"))
        assert len(dirs) == 1, f"expected one multiprocess directory in {root}: {dirs}"
        s = Served(url, dirs[0], log, Counter(), Counter())
        # /readyz answers once one worker is up. Each worker sets the DB-derived gauges as
        # it starts, so gauge files from two pids mean both are serving. (uvicorn kills a
        # worker that does not answer its supervisor's ping within 5 s of being spawned;
        # "Child process [...] died" in the log below means that happened.)
        wait_for(
            "both workers started",
            lambda: len(writers(s.metrics_dir, "gauge_mostrecent")) >= 2,
            60,
            proc,
            log,
        )
        # Each worker process logs in Quorum's format (it set none up before: no INFO
        # lines, and warnings without their level and logger).
        wait_for(
            "each worker's ready line",
            lambda: log.read_text().count("INFO quorum: quorum ready: ") >= 2,
            30,
            proc,
            log,
        )
        results = s.post_all(FIRST_BATCH)
        reasons = {ev["panel"]: {r["code"] for r in ev["routing"]["reasons"]} for ev in results}
        assert "low_agreement" in reasons["split"] and "below_quorum" in reasons["degraded"]
        # A human decides one of the split panel's routed items.
        with httpx.Client(base_url=url, timeout=30) as http:
            item = http.post("/v1/reviews/claim", json={"reviewer": "ops", "panel": "split"})
            assert item.status_code == 200, item.text
            decided = http.post(
                f"/v1/reviews/{item.json()['id']}/verdict", json={"reviewer": "ops", "value": 2}
            )
            assert decided.json()["status"] == "decided", decided.text
        # The kernel hands each connection to either worker; for the sums below to mean
        # anything, both must have counted some.
        for _ in range(5):
            if len(writers(s.metrics_dir, "counter")) >= 2:
                break
            s.post_all([("jury", f"extra [[q={i % 5 + 1}]]", "shop") for i in range(8)])
        # The DB-derived gauges refresh every second in each worker; kappa needs the items.
        wait_for(
            "the queue depth gauge to count the decided item out",
            lambda: total(scrape(url), "quorum_review_queue_depth", panel="split") == 1,
            30,
            proc,
            log,
        )
        wait_for(
            "quorum_panel_fleiss_kappa for the jury panel",
            lambda: total(scrape(url), "quorum_panel_fleiss_kappa", panel="jury") > 0,
            30,
            proc,
            log,
        )
        yield s


def writers(metrics_dir: Path, kind: str) -> set[str]:
    """Pids with a `<kind>_<pid>.db` file: the workers that wrote samples of that kind."""
    return {p.stem.removeprefix(f"{kind}_") for p in metrics_dir.glob(f"{kind}_*.db")}


def test_metrics_add_up_over_two_workers(served: Served) -> None:
    pids = writers(served.metrics_dir, "counter")
    assert len(pids) >= 2, f"counters from {len(pids)} worker(s) only: {sorted(pids)}"
    n = sum(served.posted.values())
    # Each scrape is answered by whichever worker accepts it; every one must see it all.
    for _ in range(6):
        s = scrape(served.url)
        assert total(s, "quorum_evaluations_total") == n
        for panel, count in served.posted.items():
            assert total(s, "quorum_evaluations_total", panel=panel) == count, panel
        assert total(s, "quorum_verdicts_total", panel="jury") == served.posted["jury"]
        assert (
            total(s, "quorum_verdicts_total", panel="jury", compliant="true")
            == served.compliant["jury"]
        )
        assert total(s, "quorum_evaluations_total", panel="split", decision="human") == 2
        assert total(s, "quorum_routed_total", panel="split", reason="low_agreement") == 2
        assert total(s, "quorum_routed_total", panel="degraded", reason="below_quorum") == 2
        assert total(s, "quorum_judge_requests_total", judge="boom", outcome="server_error") == 2
        assert total(s, "quorum_judge_unscored_total", judge="garbage", reason="no_json") == 2
        # honest-1 sits on jury, degraded, safety and pair (two orders per comparison).
        honest_1 = sum(served.posted[p] for p in ("jury", "degraded", "safety"))
        honest_1 += 2 * served.posted["pair"]
        assert total(s, "quorum_judge_requests_total", judge="honest-1") == honest_1
        assert total(s, "quorum_judge_latency_seconds_count", judge="honest-1") == honest_1
        assert (
            total(s, "quorum_verdict_score_count", panel="jury", app="shop")
            == served.posted["jury"]
        )
        assert total(s, "quorum_judge_cost_usd_total", judge="honest-1") > 0
        assert total(s, "quorum_judge_tokens_total", judge="honest-1", kind="prompt") > 0
        # Gauges ("mostrecent"): one series per label set, not one per worker.
        kappa = [v for (name, ls), v in s.items() if name == "quorum_panel_fleiss_kappa"]
        assert kappa and all(-1 <= v <= 1 for v in kappa)
        pending = {("panel", "jury"), ("status", "pending")}
        depth = [
            v
            for (name, ls), v in s.items()
            if name == "quorum_review_queue_depth" and pending <= ls
        ]
        assert depth == [0.0]
        # The queue depth counts open items only; the decision is a counter.
        split = {("panel", "split")}
        statuses = {
            dict(ls)["status"]
            for (name, ls), _ in s.items()
            if name == "quorum_review_queue_depth" and split <= ls
        }
        assert statuses == {"pending", "claimed"}
        assert total(s, "quorum_review_queue_depth", panel="split", status="pending") == 1
        assert total(s, "quorum_reviews_decided_total", panel="split") == 1
        # No `_created` series, multiprocess mode included.
        assert not [name for name, _ in s if name.endswith("_created")]


def test_promtool_checks_and_rule_unit_tests() -> None:
    """The shipped Prometheus config and rules are valid, and the rules' unit tests (synthetic
    series in deploy/prometheus/tests) pass."""
    promtool = require_binary("promtool")
    for cmd in (
        ["check", "config", "prometheus/prometheus.yml"],
        ["check", "rules", *map(str, sorted(RULES_DIR.glob("*.yml")))],
        ["test", "rules", *map(str, sorted((DEPLOY / "prometheus" / "tests").glob("*.yml")))],
    ):
        result = _run([promtool, *cmd])
        assert result.returncode == 0, f"promtool {' '.join(cmd)}:\n{result.stdout}{result.stderr}"


def _references(expr: str) -> set[str]:
    return {m for m in MAY_BE_EMPTY if m in expr}


def test_dashboard_and_alerts_on_real_prometheus(served: Served, tmp_path: Path) -> None:
    prometheus = require_binary("prometheus")
    promtool = require_binary("promtool")
    port = free_port()
    target = served.url.removeprefix("http://")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(RULES_DIR / "*.yml")],
                "scrape_configs": [
                    {"job_name": "quorum", "static_configs": [{"targets": [target]}]}
                ],
            }
        )
    )
    checked = _run([promtool, "check", "config", str(config)])
    assert checked.returncode == 0, checked.stdout
    rules = sorted(RULES_DIR.glob("*.yml"))
    checked = _run([promtool, "check", "rules", *map(str, rules)])
    assert checked.returncode == 0, checked.stdout

    log = tmp_path / "prometheus.log"
    cmd = [
        prometheus,
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    base = f"http://127.0.0.1:{port}"
    with running(cmd, log) as proc, httpx.Client(base_url=base, timeout=10) as api:

        def query(expr: str) -> dict[str, Any]:
            body: dict[str, Any] = api.post("/api/v1/query", data={"query": expr}).json()
            return body

        def value(expr: str) -> float:
            result = query(expr)["data"]["result"]
            return float(result[0]["value"][1]) if result else math.nan

        wait_for("prometheus ready", lambda: api.get("/-/ready").status_code == 200, 30, proc, log)
        wait_for("a first scrape of quorum", lambda: value('up{job="quorum"}') == 1, 30, proc, log)
        # A second batch while Prometheus watches, so that rates are not all zero.
        second = [("jury", "more [[q=4]]", "shop"), ("jury", "less [[q=2]]", "shop")]
        second += [("split", "again", "docs"), ("pair", "better [[q=4]]", "shop")]
        served.post_all(second)
        n = sum(served.posted.values())
        wait_for(
            f"Prometheus to see all {n} evaluations summed over both workers",
            lambda: value("sum(quorum_evaluations_total)") == n,
            30,
            proc,
            log,
        )
        wait_for(
            "three scrapes and every rule evaluated without error",
            lambda: value('count_over_time(up{job="quorum"}[1m])') >= 3 and _rules_ok(api),
            30,
            proc,
            log,
        )

        queries: list[Query] = []
        parse_only: list[Query] = []
        dashboard = load_dashboard()
        queries += dashboard_queries(dashboard) + variable_queries(dashboard)
        for rule in alert_rules():
            where = f"{rule['_file']}: {rule.get('alert') or rule.get('record')}"
            parse_only.append(Query(f"{where} (whole expression)", rule["expr"]))
            for i, c in enumerate(conditions(rule["expr"])):
                # A condition looking back a day (offset) has nothing in a new Prometheus.
                target_list = parse_only if "offset" in c.signal else queries
                target_list.append(Query(f"{where} condition {i} signal", c.signal))
                if c.threshold is not None:
                    parse_only.append(Query(f"{where} condition {i} threshold", c.threshold))

        problems = []
        for q in queries + parse_only:
            body = query(q.expr)
            if body.get("status") != "success":
                error = f"{body.get('errorType')}: {body.get('error')}"
                problems.append(f"{q.where}: {error}\n  {q.expr}")
            elif q in queries and not body["data"]["result"] and not _references(q.expr):
                problems.append(f"{q.where}: no series\n  {q.expr}")
        assert not problems, "\n".join(problems) + f"\n--- prometheus log\n{log_tail(log)}"
        # The allow-listed metrics are the only empty ones: keep the list honest.
        for metric in MAY_BE_EMPTY:
            assert any(metric in q.expr for q in queries), f"{metric} is allow-listed but unused"


def _rules_ok(api: httpx.Client) -> bool:
    groups = api.get("/api/v1/rules").json()["data"]["groups"]
    expected = sum(len(yaml.safe_load(p.read_text())["groups"]) for p in RULES_DIR.glob("*.yml"))
    if len(groups) != expected:
        return False
    rules = [r for g in groups for r in g["rules"]]
    bad = [r for r in rules if r.get("health") != "ok"]
    if any(r.get("health") == "err" for r in bad):
        pytest.fail(f"rule evaluation errors: {[(r['name'], r.get('lastError')) for r in bad]}")
    return not bad


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=DEPLOY)
