"""Wall-clock view of the panel runner: where each judge call's time goes, not its CPU.

Starts the judge double, runs `PanelRunner(LiteLLMClient())` in this process on the
bench items (`--concurrency` at a time, 3 judges), and stamps every call: entering
`LiteLLMClient.complete`, litellm's synchronous half (start, end, which thread), the
request leaving aiohttp (start, headers, body), the response headers, and the return.
Prints the mean/p50/p90 of each stage, and when the calls' bodies went out and their
responses came back, in 20 ms bins over the first second (lockstep waves show as
columns of 48). `--no-hops` leaves out `judges.loop_hops` (the two hops it removes),
for the same view before that change. Scratch instrumentation: the aiohttp trace hooks
cost some CPU of their own, so read the stages, not the absolute items/s.

    python benchmarks/wallclock.py                  # 200 ms judge, 160 items, ~20 s
    python benchmarks/wallclock.py --no-hops
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextvars
import itertools
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import aiohttp  # noqa: E402
import litellm.main  # noqa: E402
from common import item, judge_double  # noqa: E402

from judges import ChatRequest, ChatResult, JudgeConfig, PanelRunner, loop_hops  # noqa: E402
from judges.litellm_client import LiteLLMClient, configure_litellm  # noqa: E402
from rubrics import LIBRARY_DIR, Item, load_rubrics  # noqa: E402

now = time.perf_counter
CALL: contextvars.ContextVar[int | None] = contextvars.ContextVar("call", default=None)
STAGES = (
    "complete_in",
    "sync_start",
    "sync_end",
    "request_start",
    "headers_sent",
    "body_sent",
    "response_headers",
    "complete_out",
)


class Stamps:
    def __init__(self) -> None:
        self.calls: dict[int, dict[str, float]] = collections.defaultdict(dict)
        self.threads: set[int] = set()
        self.count = 0

    def mark(self, stage: str) -> None:
        call = CALL.get()
        if call is not None:
            self.calls[call].setdefault(stage, now())


STAMPS = Stamps()


def hooks() -> aiohttp.TraceConfig:
    trace = aiohttp.TraceConfig()
    for signal, stage in (
        (trace.on_request_start, "request_start"),
        (trace.on_request_headers_sent, "headers_sent"),
        (trace.on_request_chunk_sent, "body_sent"),
        (trace.on_request_end, "response_headers"),
    ):

        async def mark(*_: Any, stage: str = stage) -> None:
            STAMPS.mark(stage)

        signal.append(mark)
    trace.freeze()
    return trace


class StampedClient(LiteLLMClient):
    def _shared_session(self) -> aiohttp.ClientSession:
        fresh = self._session is None
        session = super()._shared_session()
        if fresh:
            session._trace_configs.append(hooks())
        return session

    async def complete(self, request: ChatRequest) -> ChatResult:
        STAMPS.count += 1
        CALL.set(STAMPS.count)
        STAMPS.mark("complete_in")
        try:
            return await super().complete(request)
        finally:
            STAMPS.mark("complete_out")


def stamp_sync_half() -> None:
    original = litellm.main.completion

    def stamped(*args: Any, **kwargs: Any) -> Any:
        STAMPS.mark("sync_start")
        STAMPS.threads.add(threading.get_ident())
        try:
            return original(*args, **kwargs)
        finally:
            STAMPS.mark("sync_end")

    litellm.main.completion = stamped  # acompletion looks it up per call


def report(wall: float, items: int, latencies: list[float]) -> None:
    calls = list(STAMPS.calls.values())
    latencies.sort()
    print(
        f"{items} items in {wall:.2f} s: {items / wall:.1f} items/s, item p50 "
        f"{latencies[len(latencies) // 2] * 1000:.0f} ms; litellm's synchronous half ran on "
        f"{len(STAMPS.threads)} thread(s)"
    )
    print(f"{'stage':<36}{'mean':>8}{'p50':>8}{'p90':>8}  ms")
    for a, b in itertools.pairwise(STAGES):
        gaps = sorted((c[b] - c[a]) * 1000 for c in calls if a in c and b in c)
        if gaps:
            print(
                f"{a + ' -> ' + b:<36}{statistics.mean(gaps):>8.2f}"
                f"{gaps[len(gaps) // 2]:>8.2f}{gaps[int(len(gaps) * 0.9)]:>8.2f}"
            )
    start = min(c["complete_in"] for c in calls)
    sent = collections.Counter(int((c["body_sent"] - start) * 50) for c in calls)
    back = collections.Counter(int((c["response_headers"] - start) * 50) for c in calls)
    print("20 ms bin: bodies sent / responses back (first second)")
    for b in range(50):
        if sent[b] or back[b]:
            print(f"  {b * 20:>4} ms  {sent[b]:>3} {'#' * sent[b]:<48} {back[b]:>3}")


async def run(args: argparse.Namespace, base_url: str) -> None:
    configure_litellm()
    if args.no_hops:
        loop_hops.install = lambda loop: None  # type: ignore[assignment]
    stamp_sync_half()
    rubric = load_rubrics([LIBRARY_DIR])["helpfulness"]
    runner = PanelRunner(StampedClient())
    judges = [
        JudgeConfig(
            name=f"judge-{i + 1}",
            model=f"openai/sleep-{args.slow_ms}-honest",
            api_base=base_url,
            family=f"family-{i}",
        )
        for i in range(3)
    ]
    gate = asyncio.Semaphore(args.concurrency)
    latencies: list[float] = []

    async def one(i: int) -> None:
        async with gate:
            started = now()
            votes = await runner.run(judges, rubric, Item(**item(i)), deadline_s=60)
            if not all(v.usable for v in votes):
                raise RuntimeError(f"item {i}: {votes}")
            latencies.append(now() - started)

    await asyncio.gather(*(one(i) for i in range(args.warmup)))
    STAMPS.calls.clear()
    STAMPS.threads.clear()
    latencies.clear()
    wall0 = now()
    await asyncio.gather(*(one(i) for i in range(args.warmup, args.warmup + args.items)))
    report(now() - wall0, args.items, latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=160)
    parser.add_argument("--warmup", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--slow-ms", type=int, default=200)
    parser.add_argument("--no-hops", action="store_true", help="without judges.loop_hops")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="quorum-wallclock-"))
    with judge_double(workdir) as (base_url, _double):
        asyncio.run(run(args, base_url))


if __name__ == "__main__":
    main()
