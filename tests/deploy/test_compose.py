"""The compose stack, started the way docs/operations.md says, where a Docker engine runs.

Builds the image, starts PostgreSQL, runs the one-shot migration, creates the first API
key, starts everything, and then checks what a user would: Quorum ready on its port with
the key, /metrics without `_created` series, Prometheus scraping Quorum with the alert
rules loaded, Grafana with the provisioned dashboard. The stack is always taken down
(volumes included). Skipped, with the reason, where there is no Compose v2 or no engine
(as on the test machines: only the docker CLI is installed); compose.yaml is then
checked by test_manifests.py (parsed, and resolved by `docker compose config` where a
Compose is installed).
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.deploy.compose_cli import compose_command, engine_problem
from tests.deploy.promql import DEPLOY, ROOT
from tests.support import free_port, wait_for

COMPOSE = DEPLOY / "compose.yaml"
BUILD_TIMEOUT_S = 1200


@dataclass
class Stack:
    run: list[str]
    env: dict[str, str]
    quorum: str
    prometheus: str
    grafana: str
    key: str

    def compose(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.run, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
            env=self.env,
        )


def _checked(result: subprocess.CompletedProcess[str], what: str) -> str:
    assert result.returncode == 0, f"{what}: exit {result.returncode}\n{result.stderr[-4000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    cmd, why_not = compose_command()
    if cmd is None:
        pytest.skip(f"no usable Docker Compose v2 ({why_not}): the compose stack is not started")
    problem = engine_problem()
    if problem:
        pytest.skip(f"{problem}: the compose stack is not started here")
    project = f"quorum-test-{secrets.token_hex(4)}"
    ports = {name: free_port() for name in ("QUORUM_PORT", "PROMETHEUS_PORT", "GRAFANA_PORT")}
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("QUORUM_", "POSTGRES_"))},
        **{k: str(v) for k, v in ports.items()},
        "POSTGRES_PASSWORD": secrets.token_hex(12),
        "GRAFANA_ADMIN_PASSWORD": secrets.token_hex(12),
        # No provider here: the example's judges are all down, which /readyz (the
        # healthcheck) would report; the stack itself is what this test checks.
        "QUORUM_JUDGE_CHECK_INTERVAL_S": "0",
    }
    run = [*cmd, "-f", str(COMPOSE), "-p", project]
    s = Stack(
        run,
        env,
        f"http://127.0.0.1:{ports['QUORUM_PORT']}",
        f"http://127.0.0.1:{ports['PROMETHEUS_PORT']}",
        f"http://127.0.0.1:{ports['GRAFANA_PORT']}",
        key="",
    )
    try:
        # The documented first start: PostgreSQL and the migration, a key, everything.
        _checked(
            s.compose("up", "-d", "--build", "postgres", "migrate", timeout=BUILD_TIMEOUT_S),
            "up postgres migrate",
        )
        _checked(s.compose("run", "--rm", "migrate"), "run migrate")  # idempotent re-run
        out = _checked(
            s.compose(
                "run", "--rm", "migrate", "keys", "create", "--name", "ops",
                "--scopes", "evaluate,review,admin",
            ),
            "keys create",
        )  # fmt: skip
        found = re.search(r"\bqk_\S+", out)
        assert found, f"no key printed:\n{out}"
        s.key = found[0]
        services = ("quorum", "prometheus", "grafana")
        _checked(
            s.compose("up", "-d", "--wait", "--wait-timeout", "300", *services, timeout=420),
            "up",
        )
        yield s
    finally:
        logs = s.compose("logs", "--no-color", "--tail", "200")
        down = s.compose("down", "--volumes", "--remove-orphans", timeout=180)
        if down.returncode != 0:
            print(f"compose down failed:\n{down.stderr}\n{logs.stdout[-8000:]}")


def test_quorum_serves_with_the_key(stack: Stack) -> None:
    assert httpx.get(f"{stack.quorum}/readyz", timeout=10).status_code == 200
    auth = {"Authorization": f"Bearer {stack.key}"}
    assert httpx.get(f"{stack.quorum}/v1/reviews", timeout=10).status_code == 401
    assert httpx.get(f"{stack.quorum}/v1/reviews", headers=auth, timeout=10).status_code == 200
    metrics = httpx.get(f"{stack.quorum}/metrics", timeout=10).text
    assert "quorum_review_queue_depth" in metrics
    assert "_created" not in metrics


def test_prometheus_scrapes_quorum_with_the_rules(stack: Stack) -> None:
    def up() -> bool:
        r = httpx.get(
            f"{stack.prometheus}/api/v1/query", params={"query": 'up{job="quorum"}'}, timeout=5
        ).json()
        return [x["value"][1] for x in r["data"]["result"]] == ["1"]

    wait_for("Prometheus to scrape quorum", up, 90)
    groups = httpx.get(f"{stack.prometheus}/api/v1/rules", timeout=5).json()["data"]["groups"]
    names = {r["name"] for g in groups for r in g["rules"]}
    assert {"QuorumTargetDown", "QuorumReviewQueueGrowing"} <= names


def test_grafana_has_the_dashboard(stack: Stack) -> None:
    auth = ("admin", stack.env["GRAFANA_ADMIN_PASSWORD"])

    def provisioned() -> bool:
        r = httpx.get(f"{stack.grafana}/api/dashboards/uid/quorum-overview", auth=auth, timeout=5)
        return r.status_code == 200

    wait_for("Grafana to provision the dashboard", provisioned, 90)
    health = httpx.get(f"{stack.grafana}/api/datasources/uid/quorum-prometheus", auth=auth)
    assert health.status_code == 200
