"""Shared pieces of the benchmark and load-test scripts: child processes, /proc readings,
percentiles, the judge double, a Quorum server, the stack floor server (stack_floor.py) and
a scratch PostgreSQL database.

Stdlib, httpx, PyYAML and psycopg only (all Quorum dependencies); no project code. Tests and
benchmarks do not import each other: tests/support keeps its own free port, child-process
runner and scratch database; the benchmarks only start the judge double as a command
(`python -m tests.doubles.judge_server`), as a user can.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml

REPO = Path(__file__).resolve().parents[1]
T = TypeVar("T")
TICKS = os.sysconf("SC_CLK_TCK")
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CHILD_ENV = {
    **os.environ,
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no network fetch at litellm import
    "PYTHONUNBUFFERED": "1",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int | None = None, path: str | None = None) -> float:
    """User + system CPU of a process (all its threads), from /proc/<pid>/stat."""
    path = path or f"/proc/{pid or 'self'}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants (uvicorn workers of `quorum serve --workers N`)."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in task.read_text().split()]
    return out


def tree_cpu_seconds(pid: int) -> float:
    """CPU of a process and its live descendants."""
    total = 0.0
    for p in process_tree(pid):
        with contextlib.suppress(OSError):
            total += cpu_seconds(p)
    return total


def tree_rss_kib(pid: int, field: str = "VmRSS") -> int:
    """RSS (or the sum of the peaks, VmHWM) of a process and its live descendants."""
    total = 0
    for p in process_tree(pid):
        with contextlib.suppress(OSError, RuntimeError):
            total += rss_kib(p, field)
    return total


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU seconds of each thread of a process (the main thread's id is the pid)."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, ValueError):
            out[int(task.name)] = cpu_seconds(path=str(task / "stat"))
    return out


def rss_kib(pid: int | None = None, field: str = "VmRSS") -> int:
    """Resident set size (VmRSS) or its peak (VmHWM) of a process, in KiB."""
    for line in Path(f"/proc/{pid or 'self'}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def claim_stdout() -> Any:
    """Keep the real stdout for a worker's JSON answers; anything else that prints
    (litellm prints some log lines to stdout) goes to stderr instead."""
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return answers


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks; nan when empty."""
    if not values:
        return float("nan")
    data = sorted(values)
    pos = (len(data) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    litellm_version = subprocess.run(
        [sys.executable, "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": sys.version.split()[0],
        "litellm": litellm_version or "?",
        "loadavg": load,
    }


@dataclass
class Child:
    """A child process with its output in a log file."""

    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, timeout: float = 15) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


def spawn(args: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path = REPO) -> Child:
    out = log.open("wb")
    try:
        proc = subprocess.Popen(
            args, cwd=cwd, env=env or CHILD_ENV, stdout=out, stderr=subprocess.STDOUT
        )
    finally:
        out.close()
    return Child(proc, log)


def wait_http(url: str, child: Child, timeout: float = 60) -> None:
    """Wait until `url` answers 200 (or the child dies, or time runs out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            raise RuntimeError(f"{child.log.name} exited early:\n{child.tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {timeout:.0f}s:\n{child.tail()}")


@contextlib.contextmanager
def running(
    child: Child, url: str, ready: str, timeout: float = 300
) -> Iterator[tuple[str, Child]]:
    """Yield (`url`, `child`) once `url + ready` answers 200; stop the child afterwards."""
    try:
        wait_http(url + ready, child, timeout=timeout)
        yield url, child
    finally:
        child.stop()


@contextlib.contextmanager
def judge_double(workdir: Path) -> Iterator[tuple[str, Child]]:
    """The tests' OpenAI-compatible judge double in its own process; yields its base URL."""
    port = free_port()
    child = spawn(
        [sys.executable, "-m", "tests.doubles.judge_server", "--port", str(port)],
        workdir / "judge-double.log",
    )
    with running(child, f"http://127.0.0.1:{port}/v1", "/models", timeout=30) as served:
        yield served


def write_config(
    path: Path,
    base: str,
    panels: dict[str, str],
    *,
    judges: int = 3,
    timeout_s: float = 30,
    deadline_s: float = 60,
    max_retries: int = 2,
) -> Path:
    """A quorum.yaml: per entry of `panels` (name -> behaviour), one median helpfulness panel
    of `judges` judges of different families that all behave as that behaviour."""
    config: dict[str, list[dict[str, Any]]] = {"judges": [], "panels": []}
    for panel, behaviour in panels.items():
        names = [f"{panel}-{i + 1}" for i in range(judges)]
        config["judges"] += [
            {
                "name": name,
                "model": f"openai/{behaviour}",
                "api_base": base,
                "family": f"family-{i}",
                "timeout_s": timeout_s,
                "max_retries": max_retries,
            }
            for i, name in enumerate(names)
        ]
        config["panels"].append(
            {
                "name": panel,
                "rubric": "helpfulness",
                "aggregation": "median",
                "judges": names,
                "deadline_s": deadline_s,
            }
        )
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@contextlib.contextmanager
def quorum_server(
    workdir: Path,
    config: Path,
    database_url: str,
    name: str,
    extra_env: dict[str, str] | None = None,
    workers: int = 1,
    tree: Path = REPO,
) -> Iterator[tuple[str, Child]]:
    """`python -m api.cli serve` on a free loopback port; yields its URL. With several
    workers the child is uvicorn's supervisor: measure its process tree. `tree`: the
    source tree to serve (another checkout, for an A/B), in this venv."""
    port = free_port()
    env = {
        **CHILD_ENV,
        "PYTHONPATH": str(tree),
        "QUORUM_DATABASE_URL": database_url,
        "QUORUM_CONFIG": str(config),
        **(extra_env or {}),
    }
    child = spawn(
        [
            *(sys.executable, "-m", "api.cli", "serve", "--config", str(config)),
            *("--port", str(port), "--workers", str(workers)),
        ],
        workdir / f"{name}.log",
        env,
        cwd=tree,
    )
    with running(child, f"http://127.0.0.1:{port}", "/readyz") as served:
        yield served


@contextlib.contextmanager
def stack_server(
    workdir: Path,
    base: str,
    panels: dict[str, str],
    database_url: str,
    name: str,
    *,
    judges: int = 3,
    timeout_s: float = 30,
    log_level: str = "warning",
    sqlite_driver: str = "stock",
) -> Iterator[tuple[str, Child]]:
    """`benchmarks/stack_floor.py` (the stack floor: Quorum's stack, no Quorum code) on a
    free loopback port, one panel per entry of `panels` (name -> behaviour); yields its URL.
    `log_level` is uvicorn's: "info" writes its access log line per request;
    `sqlite_driver` "one-trip": the floor on Quorum's SQLite driver adapter."""
    port = free_port()
    pairs = [
        a
        for panel, behaviour in panels.items()
        for a in ("--panel-behaviour", f"{panel}={behaviour}")
    ]
    child = spawn(
        [
            *(sys.executable, str(REPO / "benchmarks" / "stack_floor.py"), "--port", str(port)),
            *("--database-url", database_url, "--base-url", base),
            *("--judges", str(judges), "--timeout", str(timeout_s), *pairs),
            *("--log-level", log_level, "--sqlite-driver", sqlite_driver),
        ],
        workdir / f"{name}.log",
    )
    with running(child, f"http://127.0.0.1:{port}", "/readyz") as served:
        yield served


def postgres_reachable(url: str) -> str | None:
    """None when the server at `url` accepts connections, else why not."""
    try:
        import psycopg
        from sqlalchemy.engine import make_url

        admin = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(admin, connect_timeout=3):
            return None
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"


@contextlib.contextmanager
def scratch_postgres(url: str, prefix: str = "quorum_bench") -> Iterator[str]:
    """A fresh PostgreSQL database on the server of `url`, dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name, drivername="postgresql+psycopg").render_as_string(
            hide_password=False
        )
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def item(i: int) -> dict[str, str]:
    """The i-th judged item: a realistic question/answer pair with an honest-judge marker."""
    return {
        "prompt": f"Explain in two sentences what DNS does (question {i}).",
        "response": (
            "DNS, the Domain Name System, translates human-readable host names such as "
            "example.com into the IP addresses computers use to reach each other. Resolvers "
            "cache answers for the record's TTL, so most look-ups never leave the local network. "
            f"[[q={1 + i % 5}]]"
        ),
    }


def dump_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True))


def finish(
    info: dict[str, Any],
    text: str,
    notes: list[str],
    started: float,
    workdir: Path,
    args: Any,
    figures: Any,
) -> int:
    """Print a benchmark's report (machine, tables, notes), write `--json` if asked, and
    remove the scratch SQLite files. Returns the exit status (0)."""
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    print(text)
    for note in notes:
        print(f"note: {note}")
    print(f"total {time.monotonic() - started:.0f} s; logs in {workdir}")
    if args.json:
        dump_json(
            args.json,
            {
                "machine": info,
                "args": {k: str(v) for k, v in vars(args).items()},
                "figures": figures,
            },
        )
    for pattern in ("service.db*", "stack.db*"):
        for path in workdir.glob(pattern):
            path.unlink()
    return 0


def figures(
    cmd: dict[str, Any], wall: float, cpu: float, latencies: list[float], errors: list[str]
) -> dict[str, Any]:
    """What a measuring worker answers: the measured window's wall and CPU seconds, each
    evaluation's latency, the peak RSS, and the errors of the window (a sample of them)."""
    return {
        "evals": cmd["evals"],
        "wall_s": wall,
        "cpu_s": cpu,
        "latencies_s": latencies,
        "peak_rss_kib": rss_kib(field="VmHWM"),
        "errors": len(errors),
        "error_sample": errors[:3],
    }


async def at_concurrency(
    call: Callable[[int], Awaitable[T]], first: int, count: int, concurrency: int
) -> list[T]:
    """`call(first)` .. `call(first + count - 1)`, at most `concurrency` at once; their
    results in that order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> T:
        async with gate:
            return await call(i)

    return list(await asyncio.gather(*(one(first + i) for i in range(count))))


async def timed_run(
    evaluation: Callable[[int], Awaitable[float]], cmd: dict[str, Any], errors: list[str]
) -> dict[str, Any]:
    """Run `cmd["warmup"]` evaluations (lazy imports, connection pools, first-call caches),
    then time `cmd["evals"]` more, `cmd["concurrency"]` at once. `evaluation(i)` returns
    its latency and appends what went wrong to `errors`; warm-up errors are not counted."""

    n = cmd["concurrency"]
    await at_concurrency(evaluation, 0, cmd["warmup"], n)
    warm_errors = len(errors)
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    latencies = await at_concurrency(evaluation, cmd["warmup"], cmd["evals"], n)
    wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    return figures(cmd, wall, cpu, latencies, errors[warm_errors:])
