"""Child processes for tests: start a command, wait until it is ready (a URL answers, or a
line appears in its output), stop it and keep its output, whatever the test did."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
SYSTEM_DEPS_HINT = "run .ci/system-deps (installs the Debian prometheus package)"


def log_tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except FileNotFoundError:
        return "(no log)"


def wait_for(
    what: str,
    check: Callable[[], bool],
    timeout: float,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
    every: float = 0.25,
) -> None:
    """Poll `check` until it is true; fail after `timeout` s or if `proc` exits."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            tail = log_tail(log) if log else ""
            pytest.fail(f"{what}: process exited with {proc.returncode}\n{tail}")
        try:
            if check():
                return
        except Exception:  # not up yet: connection refused, 503, partial data
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f} s\n{log_tail(log) if log else ''}")
        time.sleep(every)


class Child:
    """`cmd` as a child process in its own process group, stdout and stderr to `log`.

    Stopping ends the whole group (SIGTERM, then SIGKILL after `grace` s), so workers a
    supervisor started go too; the output stays in `log` (`output()`)."""

    def __init__(
        self,
        cmd: list[str],
        log: Path,
        env: dict[str, str] | None = None,
        cwd: Path = REPO,
    ) -> None:
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                cmd,
                cwd=cwd,
                env={**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return log_tail(self.log, chars=10**9)

    def wait_http(self, url: str, timeout: float = 60) -> None:
        """Until `url` answers 200; fail if the child exits first or time runs out."""
        wait_for(
            f"{url} to answer 200",
            lambda: httpx.get(url, timeout=1).status_code == 200,
            timeout,
            self.proc,
            self.log,
            every=0.1,
        )

    def wait_line(self, text: str, timeout: float = 30, after: int = 0) -> str:
        """Until a line containing `text` is in the output (from character `after` on);
        that line."""
        found: list[str] = []

        def seen() -> bool:
            lines = self.output()[after:].splitlines()
            found[:] = [line for line in lines if text in line][:1]
            return bool(found)

        wait_for(f"{text!r} in the output", seen, timeout, self.proc, self.log, every=0.05)
        return found[0]

    def wait(self, timeout: float) -> int:
        """Until the child exits by itself; its return code."""
        return self.proc.wait(timeout=timeout)

    def _signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def stop(self, sig: int = signal.SIGTERM, grace: float = 20) -> int:
        """Send `sig` to the group, SIGKILL it if it has not ended within `grace` s; the
        return code. Safe to call again, and after the child has exited."""
        if self.proc.poll() is None:
            self._signal(sig)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._signal(signal.SIGKILL)  # workers left behind by a parent that died first
        return self.proc.returncode

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running(
    cmd: list[str], log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `cmd` as a `Child` for the block; yield its process; stop it on the way out."""
    with Child(cmd, log, env) as child:
        yield child.proc


def require_binary(name: str) -> str:
    """The binary's path; if missing, fail under CI (CI=true) and skip elsewhere."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} not found on PATH: {SYSTEM_DEPS_HINT}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
