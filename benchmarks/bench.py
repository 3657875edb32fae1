"""Quorum throughput and latency against the floor that litellm itself sets.

One command, one table. The judge double runs in its own process on loopback; each
measured target runs in a process of its own, so CPU and peak RSS are its alone:

  floor (litellm)   evaluations x 3 judge calls straight through litellm.acompletion
  panel runner      the same evaluations through Quorum's PanelRunner + LiteLLMClient
  stack sqlite      stack_floor.py over HTTP: uvicorn + FastAPI + pydantic + SQLAlchemy +
                    litellm with two transactions per evaluation and no Quorum code
  stack sqlite one-trip  the same on Quorum's SQLite driver adapter (one trip to
                    aiosqlite's thread per statement, api/store/sqlite_driver.py)
  service sqlite    `python -m api.cli serve` over HTTP (httpx client here), SQLite file
  stack postgres    stack_floor.py on a fresh PostgreSQL database
  service postgres  `quorum serve` on a fresh PostgreSQL database (created and dropped here)

Scenarios: an instant judge (`sleep-0-honest`) and a 200 ms judge (`sleep-200-honest`)
at 16 concurrent evaluations, and the 200 ms judge at 2 concurrent (light load: the
latency overhead without CPU queueing). Targets stay up between measurements, which are
interleaved (round 1: every scenario on every target, round 2: ...); figures are medians
over rounds. The machine is shared and noisy: compare ratios within one run.

    python benchmarks/bench.py                      # the table (~2-4 min)
    python benchmarks/bench.py --litellm-options    # CPU per call of litellm options
    python benchmarks/bench.py --targets floor,stack-sqlite,service-sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import httpx  # noqa: E402
from common import (  # noqa: E402
    CHILD_ENV,
    DEFAULT_POSTGRES,
    Child,
    at_concurrency,
    cpu_seconds,
    dump_json,
    finish,
    item,
    judge_double,
    machine,
    percentile,
    postgres_reachable,
    quorum_server,
    scratch_postgres,
    stack_server,
    tree_cpu_seconds,
    tree_rss_kib,
    write_config,
)
from floor import VARIANTS  # noqa: E402

Result = dict[str, Any]
Command = dict[str, Any]

TARGETS = {  # --targets key -> row name, in the order rows are measured and printed
    "floor": "floor (litellm)",
    "panel-runner": "panel runner",
    "stack-sqlite": "stack sqlite",
    "stack-sqlite-1trip": "stack sqlite one-trip",
    "service-sqlite": "service sqlite",
    "stack-postgres": "stack postgres",
    "service-postgres": "service postgres",
}
DATABASES = ("sqlite", "postgres")


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    panel: str  # the service's panel for this judge behaviour
    behaviour: str
    evals: int
    concurrency: int


def render_messages(count: int, path: Path) -> Path:
    """The chat messages Quorum sends for items 0..count-1 (helpfulness rubric)."""
    from rubrics import LIBRARY_DIR, Item, load_rubrics, render

    rubric = load_rubrics([LIBRARY_DIR])["helpfulness"]
    messages = [
        [m.model_dump() for m in render(rubric, Item(**item(i))).messages] for i in range(count)
    ]
    path.write_text(json.dumps(messages))
    return path


class Worker:
    """A measuring child (floor.py, inproc.py) that answers JSON commands on stdin; `python`
    (default this interpreter) runs it: peer.py runs its peer's worker in the peer's venv."""

    def __init__(
        self,
        args: list[str],
        log: Path,
        python: str = sys.executable,
        env: dict[str, str] | None = None,
    ) -> None:
        self.log = log
        with log.open("wb") as err:
            self.proc = subprocess.Popen(
                [python, *args],
                cwd=HERE.parent,
                env=env or CHILD_ENV,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )

    def read(self, timeout: float) -> Result:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            tail = self.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"worker {self.log.name} gave no answer:\n{tail}")
        return dict(json.loads(line))

    def ask(self, cmd: Command, timeout: float) -> Result:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self.read(timeout)

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


async def http_load(url: str, server: Child, panel: str, cmd: Command) -> Result:
    """POST evaluations at fixed concurrency (after a warm-up); measure the server process."""
    n = cmd["concurrency"]
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    errors: list[str] = []
    slowest_vote_ms: list[float] = []
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def evaluation(i: int, record: bool) -> float:
            started = time.perf_counter()
            body = {"panel": panel, "input": item(i), "metadata": {"app": "bench"}}
            reply = await client.post("/v1/evaluations", json=body)
            elapsed = time.perf_counter() - started
            if reply.status_code != 200:
                errors.append(f"HTTP {reply.status_code}: {reply.text[:150]}")
                return elapsed
            data = reply.json()
            usable = [v for v in data["votes"] if v["value"] is not None]
            if data["status"] != "decided" or len(usable) != len(data["votes"]):
                errors.append(f"status {data['status']}, {len(usable)} usable votes")
            if record:
                slowest_vote_ms.append(max(v["latency_ms"] for v in data["votes"]))
            return elapsed

        await at_concurrency(lambda i: evaluation(i, False), 0, cmd["warmup"], n)
        warm_errors = len(errors)
        cpu0, client0, wall0 = tree_cpu_seconds(server.pid), cpu_seconds(), time.perf_counter()
        latencies = await at_concurrency(
            lambda i: evaluation(i, True), cmd["warmup"], cmd["evals"], n
        )
        wall = time.perf_counter() - wall0
        cpu, client_cpu = tree_cpu_seconds(server.pid) - cpu0, cpu_seconds() - client0
    return {
        "evals": cmd["evals"],
        "wall_s": wall,
        "cpu_s": cpu,
        "client_cpu_s": client_cpu,
        "latencies_s": latencies,
        "slowest_vote_s": [ms / 1000 for ms in slowest_vote_ms],
        "peak_rss_kib": tree_rss_kib(server.pid, "VmHWM"),
        "errors": len(errors) - warm_errors,
        "error_sample": errors[warm_errors : warm_errors + 3],
    }


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path, base: str, double: Child) -> None:
        self.args, self.workdir, self.base, self.double = args, workdir, base, double
        self.started = time.monotonic()
        self.notes: list[str] = []
        biggest = args.warmup + max(args.evals, args.evals_slow, args.evals_light)
        self.messages = render_messages(biggest, workdir / "messages.json")

    def left(self) -> float:
        return self.args.budget - (time.monotonic() - self.started)

    def floor_worker(self, variant: str) -> Worker:
        return Worker(
            [
                str(HERE / "floor.py"),
                *("--base-url", self.base, "--messages", str(self.messages)),
                *("--variant", variant),
            ],
            self.workdir / f"floor-{variant}.log",
        )

    def panel_worker(self) -> Worker:
        return Worker(
            [str(HERE / "inproc.py"), "--base-url", self.base], self.workdir / "panel.log"
        )

    @contextlib.contextmanager
    def service(
        self, kind: str, database: str, panels: dict[str, str], variant: str = ""
    ) -> Iterator[Callable[[Scenario, Command], Result]]:
        """A running `quorum serve` (kind "service") or stack floor (kind "stack") with one
        panel per judge behaviour, on a SQLite file or a scratch PostgreSQL database;
        `variant` "one-trip": the stack floor on Quorum's SQLite driver adapter."""
        with contextlib.ExitStack() as stack:
            name = f"{kind}-{database}{'-' + variant if variant else ''}"
            if database == "sqlite":  # a file per target: the two stack floors run side by side
                url = f"sqlite:///{self.workdir / f'{name}.db'}"
            else:
                url = stack.enter_context(scratch_postgres(self.args.postgres))
            if kind == "stack":
                server_cm = stack_server(
                    self.workdir,
                    self.base,
                    panels,
                    url,
                    name,
                    log_level=self.args.stack_log_level,
                    sqlite_driver=variant or "stock",
                )
            else:
                config = write_config(self.workdir / f"{name}.yaml", self.base, panels)
                server_cm = quorum_server(
                    self.workdir, config, url, name, workers=self.args.workers
                )
            base_url, server = stack.enter_context(server_cm)

            def run(scenario: Scenario, cmd: Command) -> Result:
                return asyncio.run(http_load(base_url, server, scenario.panel, cmd))

            yield run


def summarise(results: list[Result]) -> Result:
    """Median over rounds of each figure."""

    def med(f: Callable[[Result], float]) -> float:
        return statistics.median(f(r) for r in results)

    out = {
        "evals_per_s": med(lambda r: r["evals"] / r["wall_s"]),
        "p50_ms": med(lambda r: percentile(r["latencies_s"], 50) * 1000),
        "p95_ms": med(lambda r: percentile(r["latencies_s"], 95) * 1000),
        "p99_ms": med(lambda r: percentile(r["latencies_s"], 99) * 1000),
        "cpu_ms_per_eval": med(lambda r: r["cpu_s"] / r["evals"] * 1000),
        "peak_rss_mib": max(r["peak_rss_kib"] for r in results) / 1024,
        "errors": sum(r["errors"] for r in results),
        "error_sample": [e for r in results for e in r.get("error_sample", [])][:3],
        "rounds": len(results),
    }
    if all("client_cpu_s" in r for r in results):
        out["client_cpu_ms_per_eval"] = med(lambda r: r["client_cpu_s"] / r["evals"] * 1000)
    if all(r.get("slowest_vote_s") for r in results):
        out["slowest_vote_p50_ms"] = med(lambda r: percentile(r["slowest_vote_s"], 50) * 1000)
    return out


def table(rows: list[tuple[str, Result]], title: str) -> str:
    w = max([18, *(len(name) + 1 for name, _ in rows)])
    head = (
        f"{'target':<{w}}{'evals/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'CPU ms/eval':>13}{'peak RSS MiB':>14}{'errors':>8}"
    )
    lines = [title, head, "-" * len(head)]
    for name, s in rows:
        lines.append(
            f"{name:<{w}}{s['evals_per_s']:>9.1f}{s['p50_ms']:>9.1f}{s['p95_ms']:>9.1f}"
            f"{s['p99_ms']:>9.1f}{s['cpu_ms_per_eval']:>13.2f}{s['peak_rss_mib']:>14.0f}"
            f"{s['errors']:>8}"
        )
    for name, s in rows:
        if "client_cpu_ms_per_eval" in s:
            lines.append(
                f"  {name}: CPU is the server's; the httpx load generator used "
                f"{s['client_cpu_ms_per_eval']:.2f} ms/eval more"
            )
        for sample in s["error_sample"]:
            lines.append(f"  {name} error: {sample}")
    return "\n".join(lines)


def scenarios(a: argparse.Namespace) -> list[Scenario]:
    fast, slow = "sleep-0-honest", f"sleep-{a.slow_ms}-honest"
    return [
        Scenario("instant", "instant judge", "instant", fast, a.evals, a.concurrency),
        Scenario("slow", f"{a.slow_ms} ms judge", "slow", slow, a.evals_slow, a.concurrency),
        Scenario(
            "light",
            f"{a.slow_ms} ms judge, light load",
            "slow",
            slow,
            a.evals_light,
            a.light_concurrency,
        ),
    ]


def main_table(bench: Bench) -> tuple[str, Result]:
    a = bench.args
    plan = scenarios(a)
    chosen = [TARGETS[key] for key in TARGETS if key in a.targets]
    pg_problem = None
    if any(name.endswith("postgres") for name in chosen):
        pg_problem = "--no-postgres" if a.no_postgres else postgres_reachable(a.postgres)
    if pg_problem:
        bench.notes.append(f"PostgreSQL skipped: {pg_problem}")
        chosen = [name for name in chosen if not name.endswith("postgres")]
    panels = {s.panel: s.behaviour for s in plan}
    raw: dict[str, dict[str, list[Result]]] = {s.key: {} for s in plan}
    double_cpu: dict[str, float] = {s.key: 0.0 for s in plan}
    double_evals: dict[str, int] = {s.key: 0 for s in plan}
    with contextlib.ExitStack() as stack:
        workers: dict[str, Worker] = {}
        if "floor (litellm)" in chosen:
            workers["floor (litellm)"] = bench.floor_worker("quorum")
        if "panel runner" in chosen:
            workers["panel runner"] = bench.panel_worker()
        for w in workers.values():
            stack.callback(w.stop)
        for w in workers.values():
            w.read(120)

        def ask(worker: Worker) -> Callable[[Scenario, Command], Result]:
            return lambda s, c: worker.ask(c, max(60.0, bench.left()))

        targets: list[tuple[str, Callable[[Scenario, Command], Result]]] = []
        for name in chosen:
            if name in workers:
                targets.append((name, ask(workers[name])))
            else:
                kind, database, *variant = name.split()
                runs = bench.service(kind, database, panels, *variant)
                targets.append((name, stack.enter_context(runs)))
        warmed: set[tuple[str, str]] = set()
        for round_no in range(a.rounds):
            for scenario in plan:
                for name, run in targets:
                    if bench.left() < 15:
                        bench.notes.append(
                            f"time budget spent: round {round_no + 1} {scenario.key} {name} skipped"
                        )
                        continue
                    first = (name, scenario.behaviour) not in warmed
                    warmed.add((name, scenario.behaviour))
                    cmd = {
                        "behaviour": scenario.behaviour,
                        "evals": scenario.evals,
                        "warmup": a.warmup if first else min(a.warmup, 8),
                        "concurrency": scenario.concurrency,
                    }
                    print(f"  round {round_no + 1}: {scenario.key} {name}", file=sys.stderr)
                    d0 = cpu_seconds(bench.double.pid)
                    try:
                        raw[scenario.key].setdefault(name, []).append(run(scenario, cmd))
                    except (RuntimeError, ValueError, httpx.HTTPError) as exc:
                        bench.notes.append(f"{scenario.key} {name} failed: {exc}"[:300])
                    double_cpu[scenario.key] += cpu_seconds(bench.double.pid) - d0
                    double_evals[scenario.key] += cmd["evals"] + cmd["warmup"]
    dump_json(bench.workdir / "raw.json", raw)  # every measurement, error samples included
    out: list[str] = []
    summary: Result = {}
    for s in plan:
        rows = [(n, summarise(rs)) for n, rs in raw[s.key].items() if rs]
        summary[s.key] = dict(rows)
        title = (
            f"{s.label} (`{s.behaviour}`): {s.evals} evaluations x 3 judges, "
            f"{s.concurrency} concurrent, median of {a.rounds} round(s)"
            + (f"; service with {a.workers} workers (CPU and RSS: all)" if a.workers > 1 else "")
        )
        text = table(rows, title)
        if double_evals[s.key]:
            per = double_cpu[s.key] / double_evals[s.key] * 1000
            text += f"\n  judge double (own process, not counted above): {per:.2f} ms CPU/eval"
        out.append(text)
    out.append("\n".join(ratio_lines(summary, a)))
    return "\n\n".join(out), summary


def ratio_lines(summary: Result, a: argparse.Namespace) -> list[str]:
    lines = ["ratios (within this run):"]
    services = tuple(f"service {db}" for db in DATABASES)
    stacks = tuple(f"stack {db}" for db in DATABASES)
    fast = summary.get("instant", {})
    if "floor (litellm)" in fast:
        floor = fast["floor (litellm)"]
        for name in ("panel runner", *services, *stacks):
            if name not in fast:
                continue
            s = fast[name]
            r = s["evals_per_s"] / floor["evals_per_s"]
            # >= 0.8 of the litellm floor is the target with workers = cores; on one
            # worker the stack floor itself is below it (docs/benchmarks.md).
            mark = "  ok" if r >= 0.8 else "  BELOW 0.8"
            mark = mark if name in services and a.workers > 1 else ""
            cpu = floor["cpu_ms_per_eval"] / s["cpu_ms_per_eval"]
            lines.append(
                f"  throughput {name} / floor, instant judge: {r:.2f}{mark}   "
                f"(CPU-bound bound: floor CPU / its CPU = {cpu:.2f})"
            )
    for db in DATABASES:
        service, stack = fast.get(f"service {db}"), fast.get(f"stack {db}")
        if service and stack:
            r = service["evals_per_s"] / stack["evals_per_s"]
            cpu = stack["cpu_ms_per_eval"] / service["cpu_ms_per_eval"]
            mark = "  ok" if r >= 0.8 else "  BELOW 0.8"  # the one-worker target
            lines.append(
                f"  throughput service {db} / stack {db}, instant judge: {r:.2f}{mark}   "
                f"(stack CPU / service CPU = {cpu:.2f})"
            )
    if "floor (litellm)" in fast:  # where the CPU per evaluation goes, instant judge
        base = fast["floor (litellm)"]["cpu_ms_per_eval"]
        for db in DATABASES:
            stack, service = fast.get(f"stack {db}"), fast.get(f"service {db}")
            if not (stack or service):
                continue
            parts = [f"litellm (floor) {base:.2f}"]
            if stack:
                parts.append(f"+ the stack {stack['cpu_ms_per_eval'] - base:+.2f}")
            if stack and service:
                extra = service["cpu_ms_per_eval"] - stack["cpu_ms_per_eval"]
                parts.append(f"+ Quorum's own {extra:+.2f}")
            total = (service or stack or {})["cpu_ms_per_eval"]
            who = "service" if service else "stack"
            lines.append(
                f"  CPU ms/eval, {db}, instant judge: {' '.join(parts)} = {who} {total:.2f}"
            )
        one_trip, service = fast.get("stack sqlite one-trip"), fast.get("service sqlite")
        if one_trip and service:  # Quorum's own share against the floor on its driver
            stack_ms = one_trip["cpu_ms_per_eval"]
            lines.append(
                f"  CPU ms/eval, sqlite, instant judge, against the one-trip stack: litellm "
                f"(floor) {base:.2f} + the stack {stack_ms - base:+.2f} + Quorum's own "
                f"{service['cpu_ms_per_eval'] - stack_ms:+.2f} = service "
                f"{service['cpu_ms_per_eval']:.2f}"
            )
    for key in ("slow", "light"):
        block = summary.get(key, {})
        label = f"{a.slow_ms} ms judge, {'light load' if key == 'light' else 'loaded'}"
        if "floor (litellm)" in block:
            floor = block["floor (litellm)"]
            for name in ("panel runner", *services, *stacks):
                if name not in block:
                    continue
                s = block[name]
                r = s["p50_ms"] / floor["p50_ms"]
                mark = "  ok" if r <= 1.10 else "  ABOVE +10%"
                line = (
                    f"  p50 {name} / floor p50, {label}: {r:.3f}{mark if name in services else ''}"
                )
                if "slowest_vote_p50_ms" in s:
                    line += (
                        f"   (/ its slowest vote's p50 {s['slowest_vote_p50_ms']:.0f} ms: "
                        f"{s['p50_ms'] / s['slowest_vote_p50_ms']:.3f})"
                    )
                lines.append(line)
            lines.append(
                f"  floor p50 / nominal {a.slow_ms} ms, {label}: {floor['p50_ms'] / a.slow_ms:.3f}"
            )
        if key == "light":
            for db in DATABASES:
                service, stack = block.get(f"service {db}"), block.get(f"stack {db}")
                if service and stack:
                    lines.append(
                        f"  p50 service {db} / stack {db} p50, {label}: "
                        f"{service['p50_ms'] / stack['p50_ms']:.3f}   "
                        f"(+{service['p50_ms'] - stack['p50_ms']:.1f} ms)"
                    )
    return lines


def options_table(bench: Bench) -> tuple[str, Result]:
    a = bench.args
    workers: dict[str, Worker] = {}
    raw: dict[str, list[Result]] = {v: [] for v in VARIANTS}
    try:
        for variant in VARIANTS:
            workers[variant] = bench.floor_worker(variant)
        for w in workers.values():
            w.read(180)
        for round_no in range(a.rounds):
            for variant, worker in workers.items():
                if bench.left() < 10:
                    bench.notes.append(f"time budget spent: {variant} round {round_no + 1}")
                    continue
                print(f"  round {round_no + 1}: {variant}", file=sys.stderr)
                cmd = {
                    "behaviour": "sleep-0-honest",
                    "evals": a.option_evals,
                    "warmup": a.warmup if round_no == 0 else 8,
                    "concurrency": a.concurrency,
                }
                try:
                    raw[variant].append(worker.ask(cmd, max(60.0, bench.left())))
                except (RuntimeError, ValueError) as exc:
                    bench.notes.append(f"{variant} round {round_no + 1} failed: {exc}"[:300])
    finally:
        for w in workers.values():
            w.stop()
    rows = [(v, summarise(rs)) for v, rs in raw.items() if rs]
    base = dict(rows).get("quorum")
    head = (
        f"{'variant':<17}{'calls/s':>9}{'CPU ms/call':>13}{'vs quorum':>11}{'p50 ms':>9}"
        f"{'RSS MiB':>9}{'errors':>8}"
    )
    lines = [
        f"litellm options, instant judge: {a.option_evals} evaluations x 3 calls, "
        f"{a.concurrency} concurrent evaluations, median of {a.rounds} round(s)",
        head,
        "-" * len(head),
    ]
    out: Result = {}
    for name, s in rows:
        per_call = s["cpu_ms_per_eval"] / 3
        rel = per_call / (base["cpu_ms_per_eval"] / 3) if base else float("nan")
        lines.append(
            f"{name:<17}{s['evals_per_s'] * 3:>9.0f}{per_call:>13.2f}{rel:>11.2f}"
            f"{s['p50_ms']:>9.1f}{s['peak_rss_mib']:>9.0f}{s['errors']:>8}"
        )
        out[name] = {**s, "cpu_ms_per_call": per_call, "cpu_vs_quorum": rel}
    lines.append("")
    lines += [f"  {k}: {v}" for k, v in VARIANTS.items()]
    return "\n".join(lines), out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--evals", type=int, default=300, help="evaluations, instant judge")
    parser.add_argument("--evals-slow", type=int, default=200, help="evaluations, slow judge")
    parser.add_argument("--evals-light", type=int, default=40, help="evaluations, light load")
    parser.add_argument("--slow-ms", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--light-concurrency", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="`quorum serve --workers`")
    parser.add_argument("--rounds", type=int, default=1, help="repeat interleaved; medians")
    parser.add_argument("--budget", type=float, default=280, help="seconds for everything")
    parser.add_argument(
        "--postgres", default=os.environ.get("QUORUM_BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--targets",
        default=",".join(TARGETS),
        help=f"comma list of the main table's targets (default all): {', '.join(TARGETS)}",
    )
    parser.add_argument(
        "--stack-log-level",
        default="warning",
        help="uvicorn log level of the stack floor (info: with an access log line per request, "
        "as `quorum serve` writes at its default level)",
    )
    parser.add_argument("--litellm-options", action="store_true", help="the option table instead")
    parser.add_argument("--option-evals", type=int, default=100)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    args.targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown or not args.targets:
        parser.error(f"--targets: unknown {unknown}; choose from {', '.join(TARGETS)}")

    workdir = Path(tempfile.mkdtemp(prefix="quorum-bench-"))
    info = machine()
    print(f"work dir (logs): {workdir}", file=sys.stderr)
    with judge_double(workdir) as (base, double):
        bench = Bench(args, workdir, base, double)
        text, figures = options_table(bench) if args.litellm_options else main_table(bench)
    print()
    return finish(info, text, bench.notes, bench.started, workdir, args, figures)


if __name__ == "__main__":
    sys.exit(main())
