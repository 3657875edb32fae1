"""Static checks of deploy/: Kubernetes manifests as `kubectl apply -k` renders them,
against the API schemas (offline), compose structure, the Grafana dashboard and
provisioning, the Prometheus files' contract, metric names, and the Dockerfile. The
queries themselves are run by test_prometheus.py, the compose stack by test_compose.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.compose_cli import compose_command
from tests.deploy.kustomize import (
    SUPPORTED_FIELDS,
    kubectl,
    load_kustomization,
    render,
    render_kubectl,
    render_python,
)
from tests.deploy.promql import (
    DEPLOY,
    ROOT,
    Condition,
    alert_rules,
    conditions,
    dashboard_panels,
    load_dashboard,
)

K8S = DEPLOY / "k8s"
K8S_VERSION = "1.30.0"  # oldest Kubernetes these manifests promise to run on
NAMESPACE = "quorum"
ENTRIES = {"managed": K8S, "trial": K8S / "overlays" / "trial"}
"""What a user applies: `kubectl apply -k deploy/k8s` (a PostgreSQL of their own) or
`kubectl apply -k deploy/k8s/overlays/trial` (with the in-cluster PostgreSQL)."""
SECRET_TEMPLATE = K8S / "secret.example.yaml"
COMPOSE = DEPLOY / "compose.yaml"
GRAFANA = DEPLOY / "grafana"
OPERATIONS = ROOT / "docs" / "operations.md"


def load_all(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def rendered(entry: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The objects `kubectl apply -k` sends for an entry point, by (kind, name)."""
    out = {}
    for doc in render(ENTRIES[entry]):
        key = (doc["kind"], doc["metadata"]["name"])
        assert key not in out, f"{entry}: {key} twice"
        out[key] = doc
    return out


def secrets() -> dict[str, dict[str, Any]]:
    """The Secret templates, by name (users create the real ones)."""
    return {d["metadata"]["name"]: d for d in load_all(SECRET_TEMPLATE)}


def kubernetes_validate() -> Any:
    """The offline schema checker (kubernetes-validate bundles the API's JSON schemas)."""
    try:
        import kubernetes_validate as kv
    except ImportError:
        message = "kubernetes-validate is not installed: add it to the dev extras (pip)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return kv


def kustomizations() -> list[Path]:
    return sorted(K8S.rglob("kustomization.yaml"))


def operations_section(title: str) -> str:
    text = OPERATIONS.read_text(encoding="utf-8")
    return text.split(f"\n### {title}\n", 1)[1].split("\n### ", 1)[0]


# --- Kubernetes: rendering


def test_every_kustomization_uses_only_what_kubectl_has() -> None:
    """kubectl's built-in kustomize lags the kustomize binary: only long-supported fields,
    none of those kustomize 5 deprecates (commonLabels, patchesStrategicMerge, bases,
    vars), so `kubectl apply -k` works with kubectl alone."""
    assert len(kustomizations()) >= 4
    for path in kustomizations():
        fields = set(load_kustomization(path.parent))  # raises on any other field
        assert fields <= SUPPORTED_FIELDS, path


@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_rendered_objects_are_valid_against_the_api_schema(entry: str) -> None:
    kv = kubernetes_validate()
    objs = rendered(entry)
    assert len(objs) >= 6
    for obj in objs.values():
        # strict: unknown fields (a typo in a key) are errors too.
        kv.validate(obj, K8S_VERSION, strict=True)


def test_secret_templates_are_valid_and_hold_placeholders_only() -> None:
    kv = kubernetes_validate()
    for name, secret in secrets().items():
        kv.validate(secret, K8S_VERSION, strict=True)
        assert secret["metadata"]["namespace"] == NAMESPACE, name
        for key, value in secret["stringData"].items():
            assert "CHANGE-ME" in value, f"{name}.{key}: the template must hold placeholders"
    assert "QUORUM_DATABASE_URL" in secrets()["quorum-secrets"]["stringData"]


def test_python_renderer_matches_kubectl() -> None:
    """The fallback renderer (for machines without kubectl) gives kubectl's objects."""
    if kubectl() is None:
        pytest.skip("kubectl not on PATH: manifests rendered by tests/deploy/kustomize.py only")
    for entry, path in ENTRIES.items():
        by_kubectl = {(o["kind"], o["metadata"]["name"]): o for o in render_kubectl(path)}
        by_python = {(o["kind"], o["metadata"]["name"]): o for o in render_python(path)}
        assert by_python == by_kubectl, entry


def test_schema_check_rejects_an_invalid_object() -> None:
    kv = kubernetes_validate()
    bad = rendered("managed")[("Deployment", "quorum")]
    bad["spec"]["replicas"] = "two"
    with pytest.raises(kv.ValidationError):
        kv.validate(bad, K8S_VERSION, strict=True)
    bad["spec"]["replicas"] = 2
    bad["spec"]["template"]["spec"]["initContainers"][0]["livenessProbes"] = {}
    with pytest.raises(kv.ValidationError):
        kv.validate(bad, K8S_VERSION, strict=True)


# --- Kubernetes: what the objects must do


@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_one_namespace_created_and_used_by_every_object(entry: str) -> None:
    objs = rendered(entry)
    namespaces = [name for kind, name in objs if kind == "Namespace"]
    assert namespaces == [NAMESPACE], "the kustomization must create its namespace"
    for (kind, name), obj in objs.items():
        if kind != "Namespace":
            assert obj["metadata"].get("namespace") == NAMESPACE, f"{kind}/{name}"
    # The docs' commands address the same namespace.
    section = operations_section("Kubernetes")
    for command in re.findall(r"kubectl (?:-n \S+ )?(?:create|wait|rollout|run|get|logs)", section):
        assert command.startswith(f"kubectl -n {NAMESPACE} "), command


def test_migrations_run_in_an_init_container_of_the_deployment() -> None:
    """No migration Job: a Job's pod template is immutable, so re-applying one within its
    TTL (an upgrade) failed. Each new pod migrates first, under the advisory lock."""
    for entry in ENTRIES:
        objs = rendered(entry)
        assert not [key for key in objs if key[0] in {"Job", "CronJob"}], entry
        pod = objs[("Deployment", "quorum")]["spec"]["template"]["spec"]
        (migrate,) = pod["initContainers"]
        (api,) = pod["containers"]
        assert migrate["args"] == ["migrate"]
        assert migrate["image"] == api["image"]
        assert migrate["envFrom"] == api["envFrom"]
        assert migrate["volumeMounts"] == api["volumeMounts"]
        assert migrate["securityContext"] == api["securityContext"]
        settings = objs[("ConfigMap", "quorum-settings")]["data"]
        assert settings["QUORUM_AUTO_MIGRATE"] == "false"  # the init container does it


def test_k8s_deployment_contract() -> None:
    objs = rendered("managed")
    deployment = objs[("Deployment", "quorum")]
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    pod = spec["template"]
    (container,) = pod["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert container["args"][:3] == ["serve", "--host", "0.0.0.0"]
    refs = {
        ("configMap" if "configMapRef" in e else "secret"): (
            e.get("configMapRef") or e["secretRef"]
        )["name"]
        for e in container["envFrom"]
    }
    assert ("ConfigMap", refs["configMap"]) in objs
    assert refs["secret"] in secrets()  # the template defines what is expected
    # Prometheus scrapes each pod at the container's port.
    notes = pod["metadata"]["annotations"]
    assert notes["prometheus.io/scrape"] == "true" and notes["prometheus.io/path"] == "/metrics"
    assert int(notes["prometheus.io/port"]) == container["ports"][0]["containerPort"]
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    # The Service selects the Deployment's pods and no others.
    service = objs[("Service", "quorum")]
    labels = pod["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    # The image is the kustomization's (the one place a user sets it).
    (image,) = load_kustomization(K8S / "base")["images"]
    assert container["image"] == f"{image['newName']}:{image['newTag']}"


def test_postgres_component_for_trials() -> None:
    """The trial overlay adds a one-replica PostgreSQL StatefulSet with a claim template,
    a headless Service, and a password from a Secret; the managed entry has none."""
    managed, trial = rendered("managed"), rendered("trial")
    assert not [key for key in managed if key[0] == "StatefulSet"]
    assert set(managed) < set(trial)
    sts = trial[("StatefulSet", "quorum-postgres")]["spec"]
    assert sts["replicas"] == 1
    (claim,) = sts["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"]
    (pg,) = sts["template"]["spec"]["containers"]
    assert pg["image"].startswith("postgres:16")
    assert {m["name"] for m in pg["volumeMounts"]} == {claim["metadata"]["name"]}
    env = {e["name"]: e for e in pg["env"]}
    ref = env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert ref["key"] in secrets()[ref["name"]]["stringData"]
    assert env["PGDATA"]["value"].startswith(pg["volumeMounts"][0]["mountPath"] + "/")
    # The governing Service is headless, selects the pod, and serves the container port.
    service = trial[("Service", sts["serviceName"])]["spec"]
    assert service["clusterIP"] == "None"
    assert service["selector"].items() <= sts["template"]["metadata"]["labels"].items()
    assert not service["selector"].items() <= (
        trial[("Deployment", "quorum")]["spec"]["template"]["metadata"]["labels"].items()
    )
    (port,) = service["ports"]
    assert port["targetPort"] == pg["ports"][0]["name"]
    # The template's database URL reaches it: user, database, host and port.
    from sqlalchemy.engine import make_url

    url = make_url(secrets()["quorum-secrets"]["stringData"]["QUORUM_DATABASE_URL"])
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port) == (sts["serviceName"], port["port"])
    assert (url.username, url.database) == (
        env["POSTGRES_USER"]["value"],
        env["POSTGRES_DB"]["value"],
    )


def restricted_violations(where: str, pod: dict[str, Any]) -> list[str]:
    """What breaks Pod Security "restricted" (the rules that concern these pods)."""
    ctx = pod.get("securityContext", {})
    out = []
    if pod.get("hostNetwork") or pod.get("hostPID") or pod.get("hostIPC"):
        out.append(f"{where}: host namespaces")
    if any("hostPath" in v for v in pod.get("volumes", [])):
        out.append(f"{where}: hostPath volume")
    for c in [*pod.get("initContainers", []), *pod["containers"]]:
        sc = c.get("securityContext", {})
        name = f"{where}/{c['name']}"
        if sc.get("privileged"):
            out.append(f"{name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"{name}: allowPrivilegeEscalation must be false")
        if sc.get("capabilities", {}).get("drop") != ["ALL"]:
            out.append(f"{name}: capabilities must drop ALL")
        if sc.get("runAsNonRoot", ctx.get("runAsNonRoot")) is not True:
            out.append(f"{name}: runAsNonRoot must be true")
        if sc.get("runAsUser", ctx.get("runAsUser")) == 0:
            out.append(f"{name}: runs as root")
        seccomp = sc.get("seccompProfile", ctx.get("seccompProfile", {})).get("type")
        if seccomp not in {"RuntimeDefault", "Localhost"}:
            out.append(f"{name}: seccompProfile must be RuntimeDefault")
    return out


def docs_pods() -> list[dict[str, Any]]:
    """The pods the docs start with `kubectl run ... --overrides` (as Pods to validate)."""
    section = operations_section("Kubernetes")
    pods = []
    for overrides in re.findall(r"--overrides='(.*?)'", section, re.S):
        spec = json.loads(overrides)["spec"]
        pods.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "docs"}, "spec": spec})
    return pods


def test_every_pod_meets_pod_security_restricted() -> None:
    """The namespace enforces "restricted": a pod that does not meet it is refused."""
    kv = kubernetes_validate()
    for entry in ENTRIES:
        objs = rendered(entry)
        labels = objs[("Namespace", NAMESPACE)]["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
        pods = [
            (f"{kind}/{name}", obj["spec"]["template"]["spec"])
            for (kind, name), obj in objs.items()
            if kind in {"Deployment", "StatefulSet"}
        ]
        assert len(pods) == (2 if entry == "trial" else 1)
        for where, pod in pods:
            assert not restricted_violations(where, pod)
    pods = docs_pods()
    assert len(pods) == 2
    for pod in pods:
        kv.validate(pod, K8S_VERSION, strict=True)
        assert not restricted_violations("docs pod", pod["spec"])
        (container,) = pod["spec"]["containers"]
        assert container["args"][:2] == ["keys", "create"]
        assert container["envFrom"] == [{"secretRef": {"name": "quorum-secrets"}}]
    assert restricted_violations("bad", {"containers": [{"name": "c"}]})


def test_deploy_docs_need_kubectl_only() -> None:
    """Every step of the Kubernetes instructions runs with kubectl alone, and every
    directory they apply is a kustomization here."""
    section = operations_section("Kubernetes")
    blocks = "\n".join(re.findall(r"```sh\n(.*?)```", section, re.S))
    assert "kubectl apply -k deploy/k8s" in blocks
    for line in blocks.splitlines():
        assert not re.match(r"\s*(\(cd [^)]*&& )?kustomize\b", line), line
    for path in re.findall(r"kubectl (?:-n \S+ )?apply -k ([\w/.-]+)", section):
        assert (ROOT / path / "kustomization.yaml").is_file(), path
    for path in re.findall(r"kubectl (?:-n \S+ )?apply -f ([\w/.-]+)", section):
        assert (ROOT / path).is_file(), path


def test_k8s_config_map_holds_a_valid_quorum_config(tmp_path: Path) -> None:
    from api.config import load_config

    objs = rendered("managed")
    data = objs[("ConfigMap", "quorum-config")]["data"]
    settings = objs[("ConfigMap", "quorum-settings")]["data"]
    mount = next(
        m
        for m in objs[("Deployment", "quorum")]["spec"]["template"]["spec"]["containers"][0][
            "volumeMounts"
        ]
        if m["name"] == "config"
    )
    assert settings["QUORUM_CONFIG"] == f"{mount['mountPath']}/quorum.yaml"
    path = tmp_path / "quorum.yaml"
    path.write_text(data["quorum.yaml"])
    config = load_config(path)
    assert config.panels and config.judges


# --- compose


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


COMPOSE_VARIABLES = {
    "POSTGRES_PASSWORD",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "QUORUM_CONFIG_FILE",
    "QUORUM_PORT",
    "PROMETHEUS_PORT",
    "GRAFANA_PORT",
    "GRAFANA_ADMIN_PASSWORD",
    "QUORUM_JUDGE_CHECK_INTERVAL_S",
}
"""Every `${VAR:-default}` compose.yaml reads (the docs name each)."""


def _expand(value: str) -> str:
    """`${VAR:-default}` -> default (the value when VAR is unset)."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_compose_structure() -> None:
    c = compose()
    services = c["services"]
    assert {"quorum", "migrate", "postgres", "prometheus", "grafana"} <= services.keys()
    quorum, migrate = services["quorum"], services["migrate"]
    assert quorum["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate["command"] == ["migrate"]
    for svc in (quorum, migrate):
        env = svc["environment"]
        assert env["QUORUM_AUTO_MIGRATE"] == "false"
        assert env["QUORUM_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert "@postgres:5432/" in env["QUORUM_DATABASE_URL"]
        assert (DEPLOY / svc["build"]["context"] / svc["build"]["dockerfile"]).is_file()
    assert quorum["command"][:3] == ["serve", "--host", "0.0.0.0"]
    # Every relative bind mount exists (paths are relative to deploy/).
    for name, svc in services.items():
        for volume in svc.get("volumes", []):
            source = _expand(volume).split(":")[0]
            if source.startswith((".", "/")):
                assert (DEPLOY / source).exists(), f"{name}: {source} does not exist"
            else:
                assert source in c["volumes"], f"{name}: undeclared named volume {source}"
    # Published ports are on loopback only (a proxy in front exposes them further).
    for name, svc in services.items():
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port}"


def test_compose_wires_prometheus_and_grafana() -> None:
    services = compose()["services"]
    mounts = {
        svc: dict(v.split(":")[:2] for v in services[svc]["volumes"])
        for svc in ("prometheus", "grafana")
    }
    assert mounts["prometheus"]["./prometheus"] == "/etc/prometheus"
    assert "--config.file=/etc/prometheus/prometheus.yml" in services["prometheus"]["command"]
    assert mounts["grafana"]["./grafana/provisioning"] == "/etc/grafana/provisioning"
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/quorum.yaml").read_text())
    (dashboards,) = provider["providers"]
    assert mounts["grafana"]["./grafana/dashboards"] == dashboards["options"]["path"]
    # Prometheus scrapes the compose service by name, at the port Quorum serves on.
    prom = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
    (job,) = [j for j in prom["scrape_configs"] if j["job_name"] == "quorum"]
    port = services["quorum"]["command"][services["quorum"]["command"].index("--port") + 1]
    assert job["static_configs"][0]["targets"] == [f"quorum:{port}"]
    assert job["metrics_path"] == "/metrics"
    # Grafana's datasource is the compose Prometheus.
    ds = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yaml").read_text())
    assert ds["datasources"][0]["url"] == "http://prometheus:9090"


def test_compose_config_with_docker() -> None:
    """`docker compose config` validates the file against the compose specification and
    resolves it (anchors, `${VAR:-default}`), with no engine needed; it runs wherever a
    Compose v2 is installed (the docker CLI plugin, or a standalone docker-compose v2)."""
    cmd, why_not = compose_command()
    if cmd is None:
        pytest.skip(f"no usable Docker Compose v2 ({why_not}): compose.yaml checked by parsing")
    env = {k: v for k, v in os.environ.items() if k not in COMPOSE_VARIABLES}
    result = subprocess.run(
        [*cmd, "-f", str(COMPOSE), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    resolved = json.loads(result.stdout)["services"]
    # What compose resolves is what the parsing checks below assume.
    for name, svc in compose()["services"].items():
        image = svc.get("image") or "quorum:local"
        assert resolved[name]["image"] == _expand(image), name
    for name in ("quorum", "migrate"):
        env_resolved = resolved[name]["environment"]
        assert env_resolved["QUORUM_AUTO_MIGRATE"] == "false"
        assert env_resolved["QUORUM_DATABASE_URL"] == (
            "postgresql+psycopg://quorum:quorum@postgres:5432/quorum"
        )
    ports = {p["target"]: p for p in resolved["quorum"]["ports"]}
    assert ports[8000]["host_ip"] == "127.0.0.1" and ports[8000]["published"] == "8000"


def test_compose_images_healthchecks_and_start_order() -> None:
    c = compose()
    services = c["services"]
    for name, svc in services.items():
        image = svc.get("image", "")
        assert re.fullmatch(r"[\w./-]+:[\w.-]+", image), f"{name}: pin a tag ({image!r})"
        assert not image.endswith(":latest"), name
        assert svc.get("restart") in {"unless-stopped", "no"}, name
    # The services others wait for have healthchecks that test what matters.
    pg = services["postgres"]["healthcheck"]
    assert "pg_isready" in " ".join(pg["test"]) and pg["retries"] >= 10
    api = services["quorum"]["healthcheck"]
    assert any("/readyz" in part for part in api["test"])
    assert "start_period" in api
    # The database password is the same for PostgreSQL and for Quorum's URL.
    env = services["postgres"]["environment"]
    url = services["quorum"]["environment"]["QUORUM_DATABASE_URL"]
    assert f"//{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}@" in url
    assert url.endswith(f"/{env['POSTGRES_DB']}")
    # Every variable the file reads has a default: `up` works with nothing exported.
    text = COMPOSE.read_text(encoding="utf-8")
    variables = set(re.findall(r"\$\{([A-Z_]+)", text))
    assert variables == COMPOSE_VARIABLES
    assert not re.findall(r"\$\{[A-Z_]+\}", text), "a variable without a default"


# --- Grafana


def datasource_uid() -> str:
    ds = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yaml").read_text())
    (source,) = ds["datasources"]
    assert source["type"] == "prometheus"
    uid: str = source["uid"]
    return uid


def test_dashboard_panels_have_datasource_and_targets() -> None:
    uid = datasource_uid()
    d = load_dashboard()
    assert d["uid"] and d["title"] and d.get("id") is None
    assert 36 <= d["schemaVersion"] <= 41
    panels = dashboard_panels(d)
    assert len(panels) >= 10
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for p in panels:
        assert p["datasource"] == {"type": "prometheus", "uid": uid}, p["title"]
        targets = p.get("targets") or []
        assert targets, f"{p['title']}: no targets"
        assert len({t["refId"] for t in targets}) == len(targets), p["title"]
        for t in targets:
            assert t["datasource"]["uid"] == uid, p["title"]
            assert t["expr"].strip(), p["title"]
        assert p.get("description"), f"{p['title']}: say what the panel shows"


def test_dashboard_variables() -> None:
    uid = datasource_uid()
    variables = {v["name"]: v for v in load_dashboard()["templating"]["list"]}
    assert {"panel", "app"} <= variables.keys()
    for v in variables.values():
        assert v["datasource"]["uid"] == uid
        query = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        assert query.startswith("label_values(") and query == v["definition"]
        assert v["includeAll"] and v["allValue"] == ".*"


def test_dashboard_layout_does_not_overlap() -> None:
    taken: set[tuple[int, int]] = set()
    for p in load_dashboard()["panels"]:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24, p["title"]
        cells = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not cells & taken, f"{p['title']} overlaps another panel"
        taken |= cells


def test_dashboard_covers_the_metrics() -> None:
    """Every metric the service exports appears on the dashboard."""
    exprs = " ".join(t["expr"] for p in dashboard_panels(load_dashboard()) for t in p["targets"])
    from api.metrics import Metrics

    for collector in Metrics().registry.collect():
        assert collector.name in exprs, f"{collector.name} is not on the dashboard"


# --- Metric names: dashboard and rules <-> the service <-> docs/operations.md

METRIC_NAME = re.compile(r"\bquorum_[a-z0-9_]*[a-z0-9]")


def exported_metrics() -> dict[str, str]:
    """Every sample name the service exports (a counter's `_total`, a histogram's
    `_bucket`/`_count`/`_sum`), mapped to its documented family name."""
    from api.metrics import Metrics

    out = {}
    for family in Metrics().registry.collect():
        if family.type == "counter":
            out[f"{family.name}_total"] = f"{family.name}_total"
        elif family.type == "histogram":
            for suffix in ("", "_bucket", "_count", "_sum"):
                out[family.name + suffix] = family.name
        else:
            out[family.name] = family.name
    return out


def documented_metrics() -> set[str]:
    """The first column of the metrics table in docs/operations.md ("## Metrics")."""
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    section = text.split("\n## Metrics\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(quorum_[a-z0-9_]+)` \|", section, re.M))


def used_metrics() -> dict[str, set[str]]:
    """Every `quorum_*` name in the dashboards and rule files (queries, variables,
    descriptions, annotations), with the files that use it."""
    files = sorted((GRAFANA / "dashboards").glob("*.json"))
    files += sorted((DEPLOY / "prometheus" / "rules").glob("*.yml"))
    used: dict[str, set[str]] = {}
    for path in files:
        for name in METRIC_NAME.findall(path.read_text(encoding="utf-8")):
            used.setdefault(name, set()).add(path.name)
    return used


def test_metric_name_extraction() -> None:
    exprs = 'sum(rate(quorum_a_total{x="quorum"}[5m])) / max(quorum_b_bucket) quorum_'
    assert METRIC_NAME.findall(exprs) == ["quorum_a_total", "quorum_b_bucket"]
    assert "quorum_review_queue_depth" in used_metrics()
    assert {"quorum_evaluations_total", "quorum_verdict_score"} <= documented_metrics()


def test_every_metric_used_by_dashboard_and_alerts_is_exported_and_documented() -> None:
    exported, documented = exported_metrics(), documented_metrics()
    used = used_metrics()
    assert len(used) >= 15
    not_exported = {n: sorted(f) for n, f in used.items() if n not in exported}
    assert not not_exported, f"used but not exported by api/metrics.py: {not_exported}"
    undocumented = {n: sorted(f) for n, f in used.items() if exported[n] not in documented}
    assert not undocumented, f"used but not in the docs/operations.md table: {undocumented}"


def test_metrics_table_lists_exactly_the_exported_metrics() -> None:
    exported = set(exported_metrics().values())
    documented = documented_metrics()
    assert documented - exported == set(), "documented but not exported"
    assert exported - documented == set(), "exported but not documented"


# --- Prometheus rules (static; test_prometheus.py runs them)


def test_alert_rules_contract() -> None:
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    headings = {m.lower() for m in re.findall(r"^#+\s+`?([A-Za-z]+)`?\s*$", operations, re.M)}
    alerts = [r for r in alert_rules() if "alert" in r]
    assert len(alerts) >= 8
    for rule in alerts:
        name = rule["alert"]
        assert rule.get("for"), f"{name}: needs a `for:`"
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        notes = rule["annotations"]
        assert notes.get("summary") and notes.get("description"), name
        anchor = f"docs/operations.md#{name.lower()}"
        assert notes.get("runbook", "").startswith(anchor), f"{name}: runbook must link {anchor}"
        assert name.lower() in headings, f"docs/operations.md has no section {name}"
        assert conditions(rule["expr"])[0].threshold is not None, f"{name}: no comparison"


def test_condition_splitter() -> None:
    assert conditions('a{x!="and"} > 0.1 and on (p) b >= 20') == [
        Condition('a{x!="and"}', "0.1"),
        Condition("b", "20"),
    ]
    assert conditions("x < bool ignoring (j) group_left y offset 1d - 0.1 unless z") == [
        Condition("x", "y offset 1d - 0.1"),
        Condition("z", None),
    ]
    assert conditions("(a > 1) or b") == [Condition("(a > 1) or b", None)]


# --- Dockerfile and CI


def test_dockerfile() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert stages and all(s == "python:3.11-slim" for s in stages)
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    assert '"--host", "0.0.0.0"' in text
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    allowed = {line[1:].removesuffix("/**") for line in ignore if line.startswith("!")}
    for line in re.findall(r"^COPY\s+(?!--from)(.+)$", text, re.M):
        for source in line.split()[:-1]:
            assert (ROOT / source).exists(), source
            assert source in allowed, f"{source} is excluded by Dockerfile.dockerignore"


def test_system_deps_script() -> None:
    script = ROOT / ".ci" / "system-deps"
    assert os.access(script, os.X_OK)
    assert subprocess.run(["bash", "-n", str(script)], timeout=30).returncode == 0
