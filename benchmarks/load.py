"""Reliability load test: a steady, open-loop request rate against `quorum serve` (SQLite)
whose judges fail ~10% of the time, with checks that nothing is lost and memory is flat.

The judge double (its own process) serves `chaos-0.1-honest`: each call fails with
probability 0.1 as HTTP 500, HTTP 429, garbage text or a 5 s hang. The panel has 3 such
judges (timeout 2 s, 2 retries) and an 8 s deadline. Requests are scheduled on a timer
(open loop: request i leaves at t0 + i/rate whatever the answers are doing).

Checks (exit status 1 if any fails):
  * no 5xx and no transport error or client timeout; with --overload (a rate above what
    the server can judge), 503 `overloaded` refusals are expected instead: each must be
    problem details with Retry-After, and store nothing;
  * the client kept the schedule (achieved rate >= 95% of the target);
  * every 200 answer is `decided` or `in_review`, and its evaluation is in the database;
    the database holds exactly as many evaluations as there were 200 answers, all
    `decided`/`in_review`, none left `pending` after the drain;
  * no request took longer than --max-latency (default: twice the deadline);
  * the server's RSS is flat after warm-up (fitted growth over the rest of the run below
    --max-growth-mib).

    python benchmarks/load.py                           # 180 s at 20 evaluations/s
    python benchmarks/load.py --duration 30             # a quick run
    python benchmarks/load.py --rate 50 --overload      # beyond capacity: refusals
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import httpx  # noqa: E402
from common import (  # noqa: E402
    Child,
    cpu_seconds,
    item,
    judge_double,
    machine,
    percentile,
    quorum_server,
    rss_kib,
    write_config,
)


@dataclass
class Tally:
    sent: int = 0
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    latencies: list[float] = field(default_factory=list)
    accepted: dict[str, str] = field(default_factory=dict)  # evaluation id -> status
    decisions: collections.Counter[str] = field(default_factory=collections.Counter)
    vote_outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    samples: list[str] = field(default_factory=list)  # a few failures, for the report
    refusals: collections.Counter[str] = field(default_factory=collections.Counter)
    """503 answers by how they were made: `overloaded+retry-after` is the well-formed kind."""
    in_flight: int = 0
    max_in_flight: int = 0
    last_sent_at: float = 0.0


async def one_request(client: httpx.AsyncClient, i: int, tally: Tally) -> None:
    body = {"panel": "chaos", "input": item(i), "metadata": {"app": "loadtest"}}
    tally.in_flight += 1
    tally.max_in_flight = max(tally.max_in_flight, tally.in_flight)
    started = time.perf_counter()
    try:
        reply = await client.post("/v1/evaluations", json=body)
    except httpx.HTTPError as exc:
        tally.statuses[type(exc).__name__] += 1
        if len(tally.samples) < 5:
            tally.samples.append(f"request {i}: {type(exc).__name__}: {exc}")
        return
    finally:
        tally.in_flight -= 1
    tally.latencies.append(time.perf_counter() - started)
    tally.statuses[str(reply.status_code)] += 1
    if reply.status_code == 503:
        problem = (
            reply.json()
            if reply.headers.get("content-type", "").startswith("application/problem+json")
            else {}
        )
        slug = str(problem.get("type", "")).rsplit("/", 1)[-1] or "not-a-problem"
        retry = "+retry-after" if reply.headers.get("retry-after", "").isdigit() else ""
        tally.refusals[slug + retry] += 1
    if reply.status_code != 200:
        if len(tally.samples) < 5:
            tally.samples.append(f"request {i}: HTTP {reply.status_code}: {reply.text[:200]}")
        return
    data = reply.json()
    tally.accepted[data["id"]] = data["status"]
    tally.decisions[f"{data['status']}/{data['routing']['decision']}"] += 1
    for vote in data["votes"]:
        outcome = vote["error"] or (f"unscored:{vote['unscored']}" if vote["unscored"] else "ok")
        retried = "" if vote["attempts"] <= 1 else f" (after {vote['attempts']} attempts)"
        tally.vote_outcomes[outcome + (retried if outcome == "ok" else "")] += 1


async def sample_memory(server: Child, every: float, out: list[tuple[float, int]]) -> None:
    start = time.monotonic()
    while True:
        with contextlib.suppress(OSError, RuntimeError):
            out.append((time.monotonic() - start, rss_kib(server.pid)))
        await asyncio.sleep(every)


async def drive(url: str, server: Child, args: argparse.Namespace) -> tuple[Tally, list, float]:
    """Send requests on a timer for `duration` s, then wait for every answer."""
    tally = Tally()
    memory: list[tuple[float, int]] = []
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200)
    timeout = httpx.Timeout(args.client_timeout, connect=10)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as client:
        sampler = asyncio.create_task(sample_memory(server, args.sample_every, memory))
        total = int(args.rate * args.duration)
        tasks: list[asyncio.Task[None]] = []
        cpu0 = cpu_seconds(server.pid)
        t0 = time.monotonic()
        for i in range(total):
            delay = t0 + i / args.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one_request(client, i, tally)))
            tally.sent += 1
            if i % max(1, int(args.rate * 30)) == 0 and i:
                print(
                    f"  {time.monotonic() - t0:5.0f} s: sent {tally.sent}, "
                    f"in flight {tally.in_flight}, RSS {rss_kib(server.pid) / 1024:.0f} MiB",
                    file=sys.stderr,
                )
        tally.last_sent_at = time.monotonic() - t0
        await asyncio.gather(*tasks)
        server_cpu = cpu_seconds(server.pid) - cpu0
        await asyncio.sleep(args.sample_every)  # one more memory sample after the drain
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
    return tally, memory, server_cpu


def check_database(db: Path, tally: Tally, drain_s: float) -> tuple[list[str], dict[str, int]]:
    """Every accepted evaluation is stored and concluded; nothing is left pending."""
    problems: list[str] = []
    deadline = time.monotonic() + drain_s
    while True:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            rows = dict(conn.execute("SELECT id, status FROM evaluations").fetchall())
        by_status = collections.Counter(rows.values())
        if not by_status.get("pending") or time.monotonic() > deadline:
            break
        time.sleep(1)
    missing = [i for i in tally.accepted if i not in rows]
    if missing:
        problems.append(f"{len(missing)} accepted evaluation(s) missing from the database")
    if len(rows) != len(tally.accepted):
        problems.append(f"{len(rows)} rows in the database but {len(tally.accepted)} 200 answers")
    bad = {s: n for s, n in by_status.items() if s not in ("decided", "in_review")}
    if bad:
        problems.append(f"rows not decided/in_review after the drain: {bad}")
    answered_bad = collections.Counter(
        s for s in tally.accepted.values() if s not in ("decided", "in_review")
    )
    if answered_bad:
        problems.append(f"200 answers with status {dict(answered_bad)}")
    return problems, dict(by_status)


LOG_SIGNS = {
    "resumed by the sweeper": "resuming evaluation",
    "database is locked": "database is locked",
    "evaluation failed": "quorum.evaluate: evaluation",
    "ERROR lines": "ERROR ",
}


def scan_log(log: Path) -> dict[str, int]:
    """Counts of tell-tale lines in the server's log."""
    text = log.read_text(errors="replace")
    return {label: text.count(needle) for label, needle in LOG_SIGNS.items()}


def memory_report(
    memory: list[tuple[float, int]], warmup_s: float, max_growth_mib: float
) -> tuple[list[str], list[str]]:
    lines: list[str] = []
    problems: list[str] = []
    if len(memory) < 3:
        return ["too few RSS samples"], ["too few RSS samples to judge memory"]
    mib = [(t, kib / 1024) for t, kib in memory]
    after = [(t, m) for t, m in mib if t >= warmup_s]
    lines.append(
        f"server RSS: first {mib[0][1]:.0f} MiB, last {mib[-1][1]:.0f} MiB, "
        f"max {max(m for _, m in mib):.0f} MiB ({len(mib)} samples)"
    )
    if len(after) >= 3:
        n = len(after)
        mt = sum(t for t, _ in after) / n
        mm = sum(m for _, m in after) / n
        var = sum((t - mt) ** 2 for t, _ in after)
        slope = sum((t - mt) * (m - mm) for t, m in after) / var if var else 0.0  # MiB/s
        span = after[-1][0] - after[0][0]
        growth = slope * span
        flat = growth < max_growth_mib
        lines.append(
            f"after {warmup_s:.0f} s warm-up: {after[0][1]:.0f} -> {after[-1][1]:.0f} MiB, "
            f"slope {slope * 60:+.2f} MiB/min, fitted growth {growth:+.1f} MiB over {span:.0f} s: "
            + ("flat" if flat else "GROWING")
        )
        if not flat:
            problems.append(f"RSS grew {growth:.1f} MiB after warm-up (limit {max_growth_mib} MiB)")
    else:
        problems.append("too few RSS samples after warm-up")
    series = " ".join(f"{m:.0f}" for _, m in mib)
    lines.append(f"RSS every {memory[1][0] - memory[0][0]:.0f} s (MiB): {series}")
    return lines, problems


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=180, help="seconds of sending")
    parser.add_argument("--rate", type=float, default=20, help="evaluations per second")
    parser.add_argument(
        "--overload",
        action="store_true",
        help="the rate is beyond capacity: expect 503 refusals with Retry-After, not 200s",
    )
    parser.add_argument(
        "--max-concurrent", type=int, default=64, help="QUORUM_MAX_CONCURRENT_EVALUATIONS"
    )
    parser.add_argument("--max-queued", type=int, help="QUORUM_MAX_QUEUED_EVALUATIONS")
    parser.add_argument("--behaviour", default="chaos-0.1-honest")
    parser.add_argument("--judge-timeout", type=float, default=2.0)
    parser.add_argument("--deadline", type=float, default=8.0)
    parser.add_argument("--retries", type=int, default=2)
    parser.add_argument("--client-timeout", type=float, default=60)
    parser.add_argument("--sample-every", type=float, default=5)
    parser.add_argument("--warmup", type=float, help="memory warm-up (default: a third)")
    parser.add_argument("--max-growth-mib", type=float, default=10)
    parser.add_argument("--max-latency", type=float, help="default: twice the deadline")
    parser.add_argument("--drain", type=float, default=15, help="seconds to wait for pending")
    args = parser.parse_args()
    warmup = args.warmup if args.warmup is not None else args.duration / 3
    max_latency = args.max_latency or 2 * args.deadline

    workdir = Path(tempfile.mkdtemp(prefix="quorum-load-"))
    info = machine()
    print(f"work dir (logs, database): {workdir}", file=sys.stderr)
    db = workdir / "load.db"
    with judge_double(workdir) as (base, _double):
        config = write_config(
            workdir / "quorum.yaml",
            base,
            {"chaos": args.behaviour},
            timeout_s=args.judge_timeout,
            deadline_s=args.deadline,
            max_retries=args.retries,
        )
        env = {"QUORUM_MAX_CONCURRENT_EVALUATIONS": str(args.max_concurrent)}
        if args.max_queued is not None:
            env["QUORUM_MAX_QUEUED_EVALUATIONS"] = str(args.max_queued)
        with quorum_server(workdir, config, f"sqlite:///{db}", "server", env) as (url, server):
            started = time.monotonic()
            tally, memory, server_cpu = asyncio.run(drive(url, server, args))
            elapsed = time.monotonic() - started
            db_problems, by_status = check_database(db, tally, args.drain)
            server_log = server.log
    log_counts = scan_log(server_log)
    problems: list[str] = []
    five = {s: n for s, n in tally.statuses.items() if s.startswith("5")}
    if args.overload:  # well-formed overload refusals are the expected 5xx
        refused = tally.refusals.get("overloaded+retry-after", 0)
        if refused:
            five["503"] -= refused
        five = {s: n for s, n in five.items() if n}
        if not refused:
            problems.append("--overload, but no request was refused: raise the rate")
    if five:
        problems.append(f"5xx answers from Quorum: {five}")
    transport = {s: n for s, n in tally.statuses.items() if not s.isdigit()}
    if transport:
        problems.append(f"transport errors or client timeouts: {transport}")
    achieved = tally.sent / tally.last_sent_at if tally.last_sent_at else 0.0
    if achieved < 0.95 * args.rate:
        problems.append(f"client fell behind: {achieved:.1f}/s sent, target {args.rate}/s")
    slowest = max(tally.latencies, default=0.0)
    if slowest > max_latency:
        problems.append(f"slowest answer {slowest:.1f} s > {max_latency:.1f} s")
    problems += db_problems
    mem_lines, mem_problems = memory_report(memory, warmup, args.max_growth_mib)
    problems += mem_problems

    lat = tally.latencies
    ok200 = tally.statuses.get("200", 0)
    print()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    print(
        f"load: {args.rate:g} evaluations/s open loop for {args.duration:g} s; judges "
        f"3 x {args.behaviour} (timeout {args.judge_timeout:g} s, {args.retries} retries), "
        f"deadline {args.deadline:g} s; SQLite; max concurrent {args.max_concurrent}, "
        f"max queued {args.max_queued if args.max_queued is not None else args.max_concurrent}"
    )
    print(
        f"requests sent {tally.sent} in {tally.last_sent_at:.1f} s ({achieved:.2f}/s); "
        f"all answered after {elapsed:.1f} s; max in flight {tally.max_in_flight}"
    )
    print("status codes: " + ", ".join(f"{s}: {n}" for s, n in sorted(tally.statuses.items())))
    print(
        f"latency: p50 {percentile(lat, 50) * 1000:.0f} ms, p90 {percentile(lat, 90) * 1000:.0f}"
        f" ms, p95 {percentile(lat, 95) * 1000:.0f} ms, p99 {percentile(lat, 99) * 1000:.0f} ms,"
        f" max {slowest * 1000:.0f} ms"
    )
    if tally.refusals:
        print("503 refusals: " + ", ".join(f"{k}: {n}" for k, n in tally.refusals.items()))
    print("answers: " + ", ".join(f"{k}: {n}" for k, n in sorted(tally.decisions.items())))
    votes = sum(tally.vote_outcomes.values())
    print(
        f"votes ({votes}): " + ", ".join(f"{k}: {n}" for k, n in tally.vote_outcomes.most_common())
    )
    print(
        f"database: {sum(by_status.values())} evaluations "
        + str(dict(sorted(by_status.items())))
        + f" for {ok200} answers of 200"
    )
    print(f"server CPU: {server_cpu / max(1, tally.sent) * 1000:.1f} ms/evaluation")
    for line in mem_lines:
        print(line)
    print("server log: " + ", ".join(f"{k}: {n}" for k, n in log_counts.items()))
    for sample in tally.samples:
        print(f"sample failure: {sample}")
    if problems:
        print("\nFAILED:")
        for p in problems:
            print(f"  - {p}")
        print(f"server log: {server_log}")
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
