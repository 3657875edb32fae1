"""A/B: the service at another git revision against the working tree, in one run.

For measuring a change to the hot path: both versions of `quorum serve` run side by side
(same venv, same judge double, each on its own SQLite file or scratch PostgreSQL
database), and the same load is sent to each in turn, round after round,
so both see the same machine. Figures are medians over rounds; the ratio is what to read
(this machine is shared and noisy). `--target panel-runner` compares the judging path
alone instead: `benchmarks/inproc.py` (PanelRunner + LiteLLMClient in-process, no HTTP, no
database) of each tree, for a change under judges/. `--slow-ms 200` uses the 200 ms judge
instead of the instant one, for either target.

    python benchmarks/ab.py --base HEAD~1                 # ~1-2 min
    python benchmarks/ab.py --base main --rounds 6 --evals 400 --database postgres
    python benchmarks/ab.py --base HEAD~1 --target panel-runner --rounds 6
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from bench import Worker, http_load, summarise  # noqa: E402
from common import (  # noqa: E402
    DEFAULT_POSTGRES,
    REPO,
    Child,
    judge_double,
    machine,
    quorum_server,
    scratch_postgres,
    write_config,
)


def git(*args: str, check: bool = True) -> str:
    """Run git in this repository; its output, stripped."""
    done = subprocess.run(
        ["git", "-C", str(REPO), *args], check=check, capture_output=True, text=True
    )
    return done.stdout.strip()


@contextlib.contextmanager
def worktree(rev: str, workdir: Path) -> Iterator[Path]:
    """A detached checkout of `rev` (removed afterwards)."""
    path = workdir / "base-tree"
    git("worktree", "add", "--detach", "--quiet", str(path), rev)
    try:
        yield path
    finally:
        git("worktree", "remove", "--force", str(path), check=False)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", required=True, help="git revision to compare against")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--evals", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--target",
        choices=("service", "panel-runner"),
        default="service",
        help="service: `quorum serve` over HTTP; panel-runner: benchmarks/inproc.py",
    )
    parser.add_argument(
        "--slow-ms", type=int, default=0, help="the judge's latency in ms (0: the instant judge)"
    )
    parser.add_argument(
        "--postgres", default=os.environ.get("QUORUM_BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    )
    args = parser.parse_args()
    rev = git("rev-parse", "--short", args.base)
    head = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    names = {"base": f"base {rev}", "work": f"work {head}{'+dirty' if dirty else ''}"}
    workdir = Path(tempfile.mkdtemp(prefix="quorum-ab-"))
    print(f"work dir (logs): {workdir}", file=sys.stderr)
    info = machine()
    raw: dict[str, list[dict[str, Any]]] = {k: [] for k in names}
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        base_url, _double = stack.enter_context(judge_double(workdir))
        behaviour = f"sleep-{args.slow_ms}-honest"
        config = write_config(workdir / "quorum.yaml", base_url, {"instant": behaviour})
        trees = {"base": stack.enter_context(worktree(args.base, workdir)), "work": REPO}
        urls: dict[str, tuple[str, Child]] = {}
        workers: dict[str, Worker] = {}
        for key, tree in trees.items():
            if args.target == "panel-runner":
                workers[key] = runner_worker(tree, base_url, workdir / f"{key}-runner.log")
                stack.callback(workers[key].stop)
                continue
            if args.database == "sqlite":
                db = f"sqlite:///{workdir / f'{key}.db'}"
            else:
                db = stack.enter_context(scratch_postgres(args.postgres))
            urls[key] = stack.enter_context(quorum_server(workdir, config, db, key, tree=tree))
        for round_no in range(args.rounds):
            order = list(names) if round_no % 2 == 0 else list(reversed(names))
            for key in order:
                cmd = {
                    "evals": args.evals,
                    "warmup": args.warmup if round_no < 2 else 8,
                    "concurrency": args.concurrency,
                }
                print(f"  round {round_no + 1}: {names[key]}", file=sys.stderr)
                if args.target == "panel-runner":
                    cmd["behaviour"] = behaviour
                    raw[key].append(workers[key].ask(cmd, timeout=1800))
                    continue
                url, child = urls[key]
                raw[key].append(asyncio.run(http_load(url, child, "instant", cmd)))

    print(f"\nmachine: {info}")
    where = args.database if args.target == "service" else "panel runner in-process"
    judge = "instant judge" if args.slow_ms == 0 else f"{args.slow_ms} ms judge"
    print(
        f"{judge}, {args.evals} evaluations x 3 judges, {args.concurrency} concurrent, "
        f"{where}, median of {args.rounds} rounds ({time.monotonic() - started:.0f} s)"
    )
    print(f"{'target':<24}{'evals/s':>9}{'p50 ms':>9}{'CPU ms/eval':>13}{'errors':>8}")
    figures = {key: summarise(raw[key]) for key in names}
    for key, name in names.items():
        f = figures[key]
        print(
            f"{name:<24}{f['evals_per_s']:>9.1f}{f['p50_ms']:>9.1f}{f['cpu_ms_per_eval']:>13.2f}"
            f"{f['errors']:>8}"
        )
    b, w = figures["base"], figures["work"]
    print(
        f"work / base: throughput {w['evals_per_s'] / b['evals_per_s']:.3f}, "
        f"CPU per evaluation {w['cpu_ms_per_eval'] / b['cpu_ms_per_eval']:.3f}"
    )
    per_round = [
        (rw["cpu_s"] / rw["evals"]) / (rb["cpu_s"] / rb["evals"])
        for rb, rw in zip(raw["base"], raw["work"], strict=False)
    ]
    print("CPU ratio per round: " + ", ".join(f"{x:.3f}" for x in per_round))
    return 1 if b["errors"] or w["errors"] else 0


def runner_worker(tree: Path, base_url: str, log: Path) -> Worker:
    """`tree`'s benchmarks/inproc.py (it imports that tree's judges/ and rubrics/)."""
    worker = Worker([str(tree / "benchmarks" / "inproc.py"), "--base-url", base_url], log)
    if not worker.read(timeout=300).get("ready"):
        raise RuntimeError(f"{log.name}: the panel runner did not start")
    return worker


if __name__ == "__main__":
    sys.exit(main())
