"""The governance alert and dashboard row against a real Prometheus scraping a real
Quorum: a subject model's stream of verdicts drifts, the shipped `QuorumComplianceDrift`
rule (deploy/prometheus/rules) fires for that stream only, and every query of the
dashboard's Governance row returns series.

Needs `prometheus` (.ci/system-deps): skipped without it, failed in CI.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.deploy.promql import RULES_DIR, dashboard_panels, load_dashboard, substitute
from tests.doubles.judge_server import JudgeDouble
from tests.support import ServerThread, free_port, require_binary, running, wait_for
from tests.support.governance import BASELINE, CASE, GOOD, LEAK, assess, governance_config

MODEL, STEADY = "shop/leaky", "shop/steady"
GOVERNANCE_PANELS = {
    "Compliance matrix: model x use case (lower 95% bound)",
    "Compliance per model and use case",
    "Drift: CUSUM statistic (1 = alarm)",
    "Drift events and models per zone",
}


@pytest.fixture(scope="module")
def quorum(tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble) -> Iterator[str]:
    from api.app import create_app
    from api.settings import Settings

    root = tmp_path_factory.mktemp("governance-alerts")
    settings = Settings(
        database_url=f"sqlite:///{root / 'q.db'}",
        config=governance_config(root / "q.yaml", double),
    )
    with ServerThread(create_app(settings)) as server:
        yield server.url


def test_drift_fires_the_shipped_alert_on_real_prometheus(quorum: str, tmp_path: Path) -> None:
    prometheus = require_binary("prometheus")
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(RULES_DIR / "*.yml")],
                "scrape_configs": [
                    {
                        "job_name": "quorum",
                        "static_configs": [{"targets": [quorum.removeprefix("http://")]}],
                    }
                ],
            }
        )
    )
    log = tmp_path / "prometheus.log"
    cmd = [
        prometheus,
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    with (
        running(cmd, log) as proc,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as api,
        httpx.Client(base_url=quorum, timeout=60) as http,
    ):

        def result(expr: str) -> list[dict[str, Any]]:
            body = api.post("/api/v1/query", data={"query": expr}).json()
            assert body["status"] == "success", f"{expr}: {body}"
            found: list[dict[str, Any]] = body["data"]["result"]
            return found

        def value(expr: str) -> float:
            found = result(expr)
            return float(found[0]["value"][1]) if found else math.nan

        def firing() -> list[dict[str, str]]:
            alerts = result('ALERTS{alertname="QuorumComplianceDrift", alertstate="firing"}')
            return [a["metric"] for a in alerts]

        wait_for("prometheus ready", lambda: api.get("/-/ready").status_code == 200, 30, proc, log)
        for model in (MODEL, STEADY):
            r = http.post(
                f"/v1/models/{model}/transitions", json={"to": "production", "reason": "go-live"}
            )
            assert r.status_code == 201, r.text
        assess(http, MODEL, [GOOD] * BASELINE)
        assess(http, STEADY, [GOOD] * (BASELINE + 10))
        stream = f'quorum_drift_events_total{{model="{MODEL}", criterion="leak-check"}}'
        # The stream's counter is scraped at 0 before the event: increase() sees it.
        wait_for("the drift counter at 0", lambda: value(stream) == 0, 30, proc, log)
        wait_for(
            "a few scrapes", lambda: value(f"count_over_time({stream}[1m])") >= 2, 30, proc, log
        )
        assert firing() == []

        assess(http, MODEL, [LEAK] * 12)
        wait_for("the drift event counted", lambda: value(stream) >= 1, 30, proc, log)
        wait_for("QuorumComplianceDrift firing", lambda: bool(firing()), 30, proc, log)
        [alert] = firing()
        assert alert["model"] == MODEL and alert["criterion"] == "leak-check"
        assert alert["use_case"] == CASE and alert["severity"] == "warning"
        assert alert["tenant"] == "none"  # open mode: rows of no tenant
        assert http.get(f"/v1/models/{MODEL}").json()["zone"] == "quarantine"

        # The dashboard's Governance row: every query returns series now.
        wait_for(
            "the zone gauge",
            lambda: value(f'quorum_models_in_zone{{model="{MODEL}", zone="quarantine"}}') == 1,
            30,
            proc,
            log,
        )
        panels = [p for p in dashboard_panels(load_dashboard()) if p["title"] in GOVERNANCE_PANELS]
        assert {p["title"] for p in panels} == GOVERNANCE_PANELS
        empty = []
        for panel in panels:
            for target in panel["targets"]:
                expr = substitute(target["expr"])
                # the corrected rate needs an audit sample: this traffic has none
                if "corrected" in expr or "audited" in expr:
                    result(expr)
                elif not result(expr):
                    empty.append(f"{panel['title']} {target['refId']}: {expr}")
        assert not empty, "\n".join(empty)
        low = value(
            f'quorum_compliance_rate_low{{profile="leaks", model="{STEADY}", use_case="{CASE}"}}'
        )
        assert 0.8 < low < 1.0
