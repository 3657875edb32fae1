"""Quorum side by side with a peer library: Inspect AI's model-graded jury.

One command, one table. The same items (`common.item`), a jury of the same 3 judge-double
models per item, the same concurrency (16 items at a time), the instant judge and the
200 ms judge, each target in a process of its own:

  quorum panel runner   PanelRunner + LiteLLMClient in-process (benchmarks/inproc.py)
  quorum service        `python -m api.cli serve` on SQLite over HTTP (as in bench.py)
  inspect scorer        `model_graded_qa(model=[j1, j2, j3])` called directly, 16 items
                        at a time (benchmarks/peer_inspect.py --mode scorer)
  inspect eval()        `inspect_ai.eval()` of a Task of the items, `max_samples=16`
                        (--mode eval): Inspect's documented way, with its harness
  stack floor sqlite    with --stack: benchmarks/stack_floor.py over HTTP (Quorum's stack,
                        no Quorum code: bench.py's `stack` row), the ceiling of any service
                        on this stack against the same peer in the same run
  litellm floor         with --floor: benchmarks/floor.py (variant shared-session), the same
                        rendered prompts sent straight to `litellm.acompletion` as
                        LiteLLMClient sends them, no Quorum code: the ceiling of any
                        judging path on litellm against the same peer in the same run

Inspect runs in its own venv, `benchmarks/.venv-peer` (git-ignored), which this script
makes on first use with the pinned versions below (PEER_PINS): it is never a dependency
of Quorum's. Quorum's judges answer JSON (`sleep-<ms>-honest`); Inspect's graders answer
Inspect's `GRADE: C`/`GRADE: I` text (`grade-sleep-<ms>-honest`, the same judge and
latency, only the answer's format differs). Judge calls are counted at the double
(`/_double/stats`), so "calls/item" is what reached the judges, retries included.

    python benchmarks/peer.py          # ~2-3 min (+~1 min the first time: the venv)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import httpx  # noqa: E402
from bench import Worker, http_load, render_messages  # noqa: E402
from common import (  # noqa: E402
    cpu_seconds,
    dump_json,
    finish,
    judge_double,
    machine,
    percentile,
    quorum_server,
    stack_server,
    write_config,
)

PEER_VENV = HERE / ".venv-peer"
PEER_PINS = ("inspect-ai==0.3.285", "openai==3.54.0")
Result = dict[str, Any]
Command = dict[str, Any]
Run = Callable[[str, Command], Result]  # (scenario key, command) -> result


def peer_python(path: str | None) -> str:
    """The peer venv's interpreter, made (or remade, when the pins changed) on demand."""
    if path:
        return path
    python = PEER_VENV / "bin" / "python"
    stamp = PEER_VENV / "peer-pins.txt"
    if python.exists() and stamp.exists() and stamp.read_text().split() == list(PEER_PINS):
        return str(python)
    print(f"making {PEER_VENV} with {' '.join(PEER_PINS)} (once)", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(PEER_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PEER_PINS],
        check=True,
    )
    stamp.write_text("\n".join(PEER_PINS) + "\n")
    return str(python)


def versions(python: str, packages: list[str]) -> str:
    code = "import importlib.metadata as m, sys; print(*(m.version(p) for p in sys.argv[1:]))"
    out = subprocess.run(
        [python, "-c", code, *packages], capture_output=True, text=True, check=False
    )
    found = out.stdout.split()
    return ", ".join(f"{p} {v}" for p, v in zip(packages, found, strict=False)) or "?"


class Double:
    """The judge double's counters (calls per model string, peak requests in flight)."""

    def __init__(self, base: str, pid: int) -> None:
        self.url, self.pid = base.removesuffix("/v1") + "/_double/stats", pid

    def reset(self) -> float:
        httpx.post(f"{self.url}/reset", timeout=10).raise_for_status()
        return cpu_seconds(self.pid)

    def read(self) -> dict[str, Any]:
        return dict(httpx.get(self.url, timeout=10).json())


def summarise(results: list[Result]) -> Result:
    def med(f: Callable[[Result], float]) -> float:
        return statistics.median(f(r) for r in results)

    return {
        "items_per_s": med(lambda r: r["evals"] / r["wall_s"]),
        "p50_ms": med(lambda r: percentile(r["latencies_s"], 50) * 1000),
        "p95_ms": med(lambda r: percentile(r["latencies_s"], 95) * 1000),
        "cpu_ms_per_item": med(lambda r: r["cpu_s"] / r["evals"] * 1000),
        "client_cpu_ms_per_item": med(lambda r: r.get("client_cpu_s", 0.0) / r["evals"] * 1000),
        "calls_per_item": med(lambda r: r["calls"] / r["items"]),
        "peak_in_flight": max(r["peak_in_flight"] for r in results),
        "double_cpu_ms_per_item": med(lambda r: r["double_cpu_s"] / r["items"] * 1000),
        "peak_rss_mib": max(r["peak_rss_kib"] for r in results) / 1024,
        "errors": sum(r["errors"] for r in results),
        "error_sample": [e for r in results for e in r.get("error_sample", [])][:3],
        "rounds": len(results),
        "models": sorted({m for r in results for m in r["by_model"]}),
    }


def table(rows: list[tuple[str, Result]], title: str) -> str:
    head = (
        f"{'target':<22}{'items/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'calls/item':>12}"
        f"{'peak in flight':>16}{'CPU ms/item':>13}{'RSS MiB':>9}{'errors':>8}"
    )
    lines = [title, head, "-" * len(head)]
    for name, s in rows:
        lines.append(
            f"{name:<22}{s['items_per_s']:>9.1f}{s['p50_ms']:>9.1f}{s['p95_ms']:>9.1f}"
            f"{s['calls_per_item']:>12.2f}{s['peak_in_flight']:>16}"
            f"{s['cpu_ms_per_item']:>13.2f}{s['peak_rss_mib']:>9.0f}{s['errors']:>8}"
        )
    for name, s in rows:
        if s["client_cpu_ms_per_item"]:
            lines.append(
                f"  {name}: CPU is the server's; its httpx load generator used "
                f"{s['client_cpu_ms_per_item']:.2f} ms/item more"
            )
        for sample in s["error_sample"]:
            lines.append(f"  {name} error: {sample}")
    models = "; ".join(f"{n} {', '.join(s['models'])}" for n, s in rows)
    lines.append(f"  models called at the double: {models}")
    double = ", ".join(f"{n} {s['double_cpu_ms_per_item']:.2f}" for n, s in rows)
    lines.append(f"  judge double's own CPU, ms/item (not counted above): {double}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=200, help="items, instant judge")
    parser.add_argument("--items-slow", type=int, default=100, help="items, 200 ms judge")
    parser.add_argument("--slow-ms", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16, help="items at a time")
    parser.add_argument("--warmup", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="repeat interleaved; medians")
    parser.add_argument("--budget", type=float, default=300, help="seconds for the measuring")
    parser.add_argument("--no-service", action="store_true", help="skip `quorum serve`")
    parser.add_argument(
        "--stack", action="store_true", help="also the stack floor (stack_floor.py, SQLite)"
    )
    parser.add_argument(
        "--floor", action="store_true", help="also the litellm floor (floor.py, shared session)"
    )
    parser.add_argument("--peer-python", help="an interpreter with the peer (skip the venv)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    python = peer_python(args.peer_python)
    workdir = Path(tempfile.mkdtemp(prefix="quorum-peer-"))
    info = machine()
    info["peer"] = versions(python, ["inspect_ai", "openai"])
    print(f"work dir (logs): {workdir}", file=sys.stderr)
    scenarios = [
        ("instant", "instant judge", "sleep-0-honest", args.items),
        ("slow", f"{args.slow_ms} ms judge", f"sleep-{args.slow_ms}-honest", args.items_slow),
    ]
    notes: list[str] = []
    raw: dict[str, dict[str, list[Result]]] = {key: {} for key, *_ in scenarios}
    started = time.monotonic()

    def left() -> float:
        return args.budget - (time.monotonic() - started)

    with judge_double(workdir) as (base, double_child), contextlib.ExitStack() as stack:
        double = Double(base, double_child.pid)
        workers: dict[str, Worker] = {
            "quorum panel runner": Worker(
                [str(HERE / "inproc.py"), "--base-url", base], workdir / "panel.log"
            )
        }
        if args.floor:
            count = args.warmup + max(args.items, args.items_slow)
            messages = render_messages(count, workdir / "messages.json")
            workers["litellm floor"] = Worker(
                [
                    str(HERE / "floor.py"),
                    *("--base-url", base, "--messages", str(messages)),
                    *("--variant", "shared-session"),
                ],
                workdir / "floor.log",
            )
        for mode in ("scorer", "eval"):
            workers[f"inspect {mode}" if mode == "scorer" else "inspect eval()"] = Worker(
                [
                    str(HERE / "peer_inspect.py"),
                    *("--base-url", base, "--mode", mode),
                    *("--log-dir", str(workdir / "inspect-logs")),
                ],
                workdir / f"inspect-{mode}.log",
                python=python,
            )
        for w in workers.values():
            stack.callback(w.stop)
        for w in workers.values():
            w.read(180)

        def asker(worker: Worker) -> Run:
            return lambda key, cmd: worker.ask(cmd, max(60.0, left()))

        targets: dict[str, Run] = {name: asker(w) for name, w in workers.items()}
        if not args.no_service:
            config = write_config(
                workdir / "service.yaml", base, {key: b for key, _, b, _ in scenarios}
            )
            url, server = stack.enter_context(
                quorum_server(workdir, config, f"sqlite:///{workdir / 'service.db'}", "service")
            )
            targets["quorum service sqlite"] = lambda key, cmd: asyncio.run(
                http_load(url, server, key, cmd)
            )
        if args.stack:
            panels = {key: b for key, _, b, _ in scenarios}
            floor_url, floor = stack.enter_context(
                stack_server(workdir, base, panels, f"sqlite:///{workdir / 'stack.db'}", "stack")
            )
            targets["stack floor sqlite"] = lambda key, cmd: asyncio.run(
                http_load(floor_url, floor, key, cmd)
            )
        order = [
            "litellm floor",
            "quorum panel runner",
            "quorum service sqlite",
            "stack floor sqlite",
            "inspect scorer",
            "inspect eval()",
        ]
        warmed: set[tuple[str, str]] = set()
        for round_no in range(args.rounds):
            for key, _, behaviour, items in scenarios:
                for name in [n for n in order if n in targets]:
                    if left() < 15:
                        notes.append(f"time budget spent: round {round_no + 1} {key} {name}")
                        continue
                    first = (name, key) not in warmed
                    warmed.add((name, key))
                    cmd = {
                        "behaviour": behaviour,
                        "evals": items,
                        "warmup": args.warmup if first else min(args.warmup, 8),
                        "concurrency": args.concurrency,
                    }
                    print(f"  round {round_no + 1}: {key} {name}", file=sys.stderr)
                    d0 = double.reset()
                    try:
                        res = targets[name](key, cmd)
                    except (RuntimeError, ValueError, httpx.HTTPError) as exc:
                        notes.append(f"{key} {name} failed: {exc}"[:300])
                        continue
                    stats = double.read()
                    res.update(
                        items=cmd["evals"] + cmd["warmup"],  # calls are counted for both
                        calls=stats["calls"],
                        by_model=stats["by_model"],
                        peak_in_flight=stats["peak_in_flight"],
                        double_cpu_s=cpu_seconds(double_child.pid) - d0,
                    )
                    raw[key].setdefault(name, []).append(res)
    dump_json(workdir / "raw.json", raw)
    out: list[str] = []
    figures: Result = {}
    for key, label, behaviour, items in scenarios:
        rows = [(n, summarise(raw[key][n])) for n in order if raw[key].get(n)]
        figures[key] = dict(rows)
        out.append(
            table(
                rows,
                f"{label} (`{behaviour}`; Inspect: `grade-{behaviour}`): {items} items x 3 "
                f"judges, {args.concurrency} items at a time, median of {args.rounds} round(s)",
            )
        )
    print()
    return finish(info, "\n\n".join(out), notes, started, workdir, args, figures)


if __name__ == "__main__":
    sys.exit(main())
