"""Finding a Docker Compose v2 that can be trusted to fail, and a Docker engine.

`docker compose config` resolves and validates a compose file against the compose
specification with no engine running; starting the stack needs one. Either may be
missing: the callers skip with the reason (`why_not`), never pass silently.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

INVALID = "services:\n  x:\n    image: 5\n    restart: sometimes\n"
"""A compose file every Compose must reject (a number as image, an unknown restart)."""


@cache
def compose_command() -> tuple[list[str] | None, str]:
    """(command, "") for a working Compose v2, else (None, why not).

    Tried: the docker CLI's `docker compose` plugin, then a standalone `docker-compose`
    binary of version 2. A candidate must reject an invalid file: a wrapper that loses
    the exit code would make every check pass."""
    reasons = []
    candidates: list[list[str]] = []
    docker = shutil.which("docker")
    if docker:
        candidates.append([docker, "compose"])
    else:
        reasons.append("no docker CLI on PATH")
    standalone = shutil.which("docker-compose")
    if standalone:
        candidates.append([standalone])
    else:
        reasons.append("no docker-compose on PATH")
    with tempfile.TemporaryDirectory() as scratch:
        bad = Path(scratch) / "invalid-compose.yaml"
        bad.write_text(INVALID)
        return _first_working(candidates, bad, reasons)


def _first_working(
    candidates: list[list[str]], bad: Path, reasons: list[str]
) -> tuple[list[str] | None, str]:
    for cmd in candidates:
        version = _run([*cmd, "version", "--short"])
        if version.returncode != 0 or not version.stdout.strip().lstrip("v").startswith("2"):
            reasons.append(f"`{' '.join(cmd)} version` is not Compose v2: {_said(version)}")
            continue
        if _run([*cmd, "-f", str(bad), "config", "--quiet"]).returncode == 0:
            reasons.append(f"`{' '.join(cmd)}` accepted an invalid file (exit code lost)")
            continue
        return cmd, ""
    return None, "; ".join(reasons)


def engine_problem() -> str:
    """Why no container can be started here ("" when a Docker engine answers)."""
    docker = shutil.which("docker")
    if docker is None:
        return "no docker CLI on PATH"
    info = _run([docker, "info", "--format", "{{.ServerVersion}}"])
    if info.returncode != 0 or not info.stdout.strip():
        return f"no Docker engine (`docker info`: {_said(info)})"
    return ""


def _run(cmd: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(cmd, 127, "", str(exc))


def _said(result: subprocess.CompletedProcess[str]) -> str:
    text = (result.stderr or result.stdout).strip().splitlines()
    return text[-1] if text else f"exit code {result.returncode}"
