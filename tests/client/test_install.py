"""quorum-client installs alone: `pip install ./client` into a fresh venv brings httpx,
pydantic and what they need, nothing of the service; `quorum_client` imports there with
the repository off the path, and the client's own unittest suite passes there.

It builds a venv and installs from the package index (the pip cache keeps it to tens of
seconds). Without network it skips, saying so, unless CI is set: then it fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "client"
SERVICE = {
    "fastapi",
    "starlette",
    "uvicorn",
    "litellm",
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "psycopg",
    "redis",
    "numpy",
    "scipy",
    "matplotlib",
    "prometheus-client",
    "quorum",
}
"""Distributions of the service that must not come with the client."""
TOOLS = {"pip", "setuptools", "wheel"}
"""What a fresh venv may hold before anything is installed."""
INSPECT = """
import importlib.metadata as md, importlib.util, json, sys
import quorum_client
print(json.dumps({
    "requires": {d.metadata["Name"]: d.requires or [] for d in md.distributions()},
    "client": quorum_client.__file__,
    "api": importlib.util.find_spec("api") is not None,
    "path": sys.path,
}))
"""
"""Run in the venv: each distribution's requirements, and where quorum_client came from."""


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def name_of(requirement: str) -> str:
    """The distribution a requirement string names (`httpx>=0.27` -> `httpx`)."""
    found = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert found is not None, requirement
    return canonical(found[0])


def closure(requires: dict[str, list[str]], roots: set[str]) -> set[str]:
    """The installed distributions `roots` need, transitively. Requirements behind an
    extra are left out (nothing here installs extras); ones whose marker excluded them are
    not installed, so they do not count either."""
    needs = {canonical(n): r for n, r in requires.items()}
    found: set[str] = set()
    todo = [canonical(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in found or name not in needs:
            continue
        found.add(name)
        for req in needs[name]:
            if "extra ==" not in req.partition(";")[2].replace('"', "").replace("'", ""):
                todo.append(name_of(req))
    return found


def pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError:
        return False
    return True


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240
    )


@pytest.mark.timeout(300)
def test_the_client_installs_alone_and_passes_its_tests(tmp_path: Path) -> None:
    source = tmp_path / "quorum-client"
    shutil.copytree(  # a clean copy: no editable-install leftovers, nothing built in the repo
        CLIENT, source, ignore=shutil.ignore_patterns("*.egg-info", "build", "__pycache__")
    )
    venv = tmp_path / "venv"
    made = run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    pip = (python, "-m", "pip", "--disable-pip-version-check")
    installed = run(*pip, "install", "--quiet", source, cwd=tmp_path)
    if installed.returncode != 0 and os.environ.get("CI") != "true" and not pypi_reachable():
        pytest.skip(f"pypi.org unreachable, cannot install the client: {installed.stderr[-300:]}")
    assert installed.returncode == 0, installed.stderr

    listed = run(*pip, "list", "--format", "json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    present = {canonical(d["name"]) for d in json.loads(listed.stdout)} - TOOLS
    inspected = run(python, "-c", INSPECT, cwd=tmp_path)
    assert inspected.returncode == 0, inspected.stderr
    seen = json.loads(inspected.stdout)
    requires = seen["requires"]

    behind_extra = {r for r in requires["quorum-client"] if "extra ==" in r.partition(";")[2]}
    direct = {name_of(r) for r in requires["quorum-client"] if r not in behind_extra}
    assert direct == {"httpx", "pydantic"}
    assert {name_of(r) for r in behind_extra} == {"litellm"}  # the callback's extra, not installed
    assert present == {"quorum-client"} | closure(requires, direct)
    assert not present & SERVICE
    assert {"httpx", "pydantic"} <= present
    assert Path(seen["client"]).is_relative_to(venv), seen["client"]  # the installed copy
    assert not seen["api"]  # installing the client puts no `api` package on the path
    assert not any(Path(p).resolve() in (ROOT, CLIENT) for p in seen["path"] if p)

    tests = run(python, "-m", "unittest", "discover", "-s", source / "tests", cwd=tmp_path)
    assert tests.returncode == 0, tests.stderr[-4000:]
    ran = re.search(r"^Ran (\d+) tests?", tests.stderr, re.MULTILINE)
    assert ran is not None and int(ran[1]) >= 20, tests.stderr[-2000:]
    assert tests.stderr.rstrip().endswith("OK"), tests.stderr[-2000:]
