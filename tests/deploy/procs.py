"""Child processes for the deployment tests: started, awaited with a deadline, always ended."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

SYSTEM_DEPS_HINT = "run .ci/system-deps (installs the Debian prometheus package)"


def require_binary(name: str) -> str:
    """The binary's path; if missing, fail under CI (CI=true) and skip elsewhere."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} not found on PATH: {SYSTEM_DEPS_HINT}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log_tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except FileNotFoundError:
        return "(no log)"


@contextlib.contextmanager
def running(
    cmd: list[str], log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `cmd` in its own process group, output to `log`; SIGTERM the group on exit,
    SIGKILL it if it has not stopped within 20 s."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
            # Workers left behind by a parent that died first.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


def wait_for(
    what: str,
    check: Callable[[], bool],
    timeout: float,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    """Poll `check` until it is true; fail after `timeout` s or if `proc` exits."""
    deadline = time.monotonic() + timeout
    while True:
        tail = log_tail(log) if log else ""
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{what}: process exited with {proc.returncode}\n{tail}")
        try:
            if check():
                return
        except Exception:  # not up yet: connection refused, 503, partial data
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f} s\n{log_tail(log) if log else ''}")
        time.sleep(0.25)
