"""Render deploy/k8s the way `kubectl apply -k` does.

`render()` runs `kubectl kustomize` (kubectl's built-in kustomize) where kubectl is on
PATH, which is what a user runs. Where it is not (Debian ships no usable kubectl: its
kubernetes-client is 1.20, whose kustomize predates components), `render_python()` reads
the kustomizations itself: only what deploy/k8s uses (`resources` files and directories,
`components`, `namespace`, `images`), and it refuses any other field rather than
ignoring it. test_manifests.py checks that both give the same objects where kubectl is.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]

SUPPORTED_FIELDS = {"apiVersion", "kind", "namespace", "resources", "components", "images"}
"""What render_python understands; each is in kubectl's kustomize since kubectl 1.21."""

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "StorageClass"}


def kubectl() -> str | None:
    return shutil.which("kubectl")


def render(entry: Path) -> list[Obj]:
    """The objects `kubectl apply -k entry` would send (kubectl if present, else ours)."""
    return render_kubectl(entry) if kubectl() else render_python(entry)


def render_kubectl(entry: Path) -> list[Obj]:
    binary = kubectl()
    assert binary is not None
    result = subprocess.run(
        [binary, "kustomize", str(entry)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"kubectl kustomize {entry}:\n{result.stderr}"
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def load_kustomization(directory: Path) -> Obj:
    data: Obj = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(data) - SUPPORTED_FIELDS
    if unknown:
        raise ValueError(f"{directory}/kustomization.yaml: unsupported fields {sorted(unknown)}")
    return data


def render_python(entry: Path) -> list[Obj]:
    """Resources, then components (each transforms everything gathered so far), then this
    kustomization's own namespace and images, as kustomize orders them."""
    k = load_kustomization(entry)
    objs: list[Obj] = []
    for ref in k.get("resources", []):
        path = (entry / ref).resolve()
        if path.is_dir():
            objs += render_python(path)
        else:
            objs += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    for ref in k.get("components", []):
        component = (entry / ref).resolve()
        spec = load_kustomization(component)
        if spec.get("kind") != "Component":
            raise ValueError(f"{component}: a component must be kind: Component")
        objs += render_python_resources(component, spec)
    if "namespace" in k:
        for obj in objs:
            if obj["kind"] == "Namespace":  # kustomize renames it to match
                obj["metadata"]["name"] = k["namespace"]
            elif obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = k["namespace"]
    for image in k.get("images", []):
        for obj in objs:
            for container in _containers(obj):
                name = container["image"].rsplit(":", 1)[0]
                if name == image["name"]:
                    tag = image.get("newTag", container["image"].rsplit(":", 1)[-1])
                    container["image"] = f"{image.get('newName', name)}:{tag}"
    return objs


def render_python_resources(directory: Path, spec: Obj) -> list[Obj]:
    if set(spec) - {"apiVersion", "kind", "resources"}:
        raise ValueError(f"{directory}: only `resources` is supported in a component")
    out: list[Obj] = []
    for ref in spec.get("resources", []):
        text = (directory / ref).read_text(encoding="utf-8")
        out += [d for d in yaml.safe_load_all(text) if d]
    return out


def _containers(obj: Obj) -> list[Obj]:
    pod = obj.get("spec", {}).get("template", {}).get("spec", {})
    return [*pod.get("initContainers", []), *pod.get("containers", [])]
