"""Where does the service's memory grow? tracemalloc snapshots around batches of requests.

Runs the Quorum app in-process (uvicorn in a thread, as tests/conftest.py does) with
tracemalloc on, against the judge double in its own process, sends `--batches` batches of
`--batch` evaluations after a warm-up, and prints, per batch, the traced-memory total
and the allocation sites that grew most since the warm-up snapshot (grouped by the
innermost frame outside the standard library, so the owner is visible).

    python benchmarks/memory_growth.py [--behaviour chaos-0.1-honest] [--batch 150]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import linecache
import os
import socket
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import httpx  # noqa: E402
from common import at_concurrency, item, judge_double, rss_kib, write_config  # noqa: E402

STDLIB = (f"/lib/python{sys.version_info[0]}.{sys.version_info[1]}/", "<frozen")


def owner(trace: tracemalloc.Traceback) -> str:
    """The innermost frame that is not the standard library (else the innermost)."""
    for frame in reversed(trace):  # most recent call last
        if not any(s in frame.filename for s in STDLIB):
            break
    else:
        frame = trace[-1]
    name = frame.filename.split("site-packages/")[-1].replace(str(HERE.parent) + "/", "")
    line = linecache.getline(frame.filename, frame.lineno).strip()
    return f"{name}:{frame.lineno}  {line[:70]}"


def snapshot() -> tracemalloc.Snapshot:
    """A snapshot without this script's own allocations (linecache, tracemalloc, us)."""
    return tracemalloc.take_snapshot().filter_traces(
        [
            tracemalloc.Filter(False, linecache.__file__, all_frames=True),
            tracemalloc.Filter(False, tracemalloc.__file__, all_frames=True),
            tracemalloc.Filter(False, __file__, all_frames=True),
        ]
    )


def growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, top: int) -> list[str]:
    by_owner: dict[str, list[int]] = {}
    for stat in after.compare_to(before, "traceback"):
        entry = by_owner.setdefault(owner(stat.traceback), [0, 0])
        entry[0] += stat.size_diff
        entry[1] += stat.count_diff
    ranked = sorted(by_owner.items(), key=lambda kv: kv[1][0], reverse=True)[:top]
    return [f"  {size / 1024:+9.1f} KiB {count:+7d} blocks  {who}" for who, (size, count) in ranked]


class Server:
    def __init__(self, app: object) -> None:
        import uvicorn

        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> Server:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("server failed to start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


async def batch(url: str, first: int, count: int, concurrency: int) -> dict[int, int]:
    statuses: dict[int, int] = {}
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:

        async def one(i: int) -> None:
            body = {"panel": "mem", "input": item(i), "metadata": {"app": "mem"}}
            reply = await client.post("/v1/evaluations", json=body)
            statuses[reply.status_code] = statuses.get(reply.status_code, 0) + 1

        await at_concurrency(one, first, count, concurrency)
    return statuses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--behaviour", default="chaos-0.1-honest")
    parser.add_argument("--batch", type=int, default=150)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--frames", type=int, default=3, help="traceback depth kept")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()

    from api.app import create_app
    from api.settings import Settings

    workdir = Path(tempfile.mkdtemp(prefix="quorum-memory-"))
    with contextlib.ExitStack() as stack:
        base, _ = stack.enter_context(judge_double(workdir))
        config = write_config(
            workdir / "quorum.yaml",
            base,
            {"mem": args.behaviour},
            timeout_s=2,
            deadline_s=8,
        )
        settings = Settings(database_url=f"sqlite:///{workdir / 'mem.db'}", config=config)
        tracemalloc.start(args.frames)
        server = stack.enter_context(Server(create_app(settings)))
        asyncio.run(batch(server.url, 0, args.warmup, args.concurrency))
        linecache.getline(__file__, 1)  # warm linecache before the baseline
        base_snap = snapshot()
        base_traced = sum(t.size for t in base_snap.traces)
        print(
            f"after warm-up ({args.warmup}): traced {base_traced / 2**20:.1f} MiB, "
            f"RSS {rss_kib() / 1024:.0f} MiB"
        )
        done = args.warmup
        for n in range(args.batches):
            statuses = asyncio.run(batch(server.url, done, args.batch, args.concurrency))
            done += args.batch
            snap = snapshot()
            traced = sum(t.size for t in snap.traces)
            per_eval = (traced - base_traced) / 1024 / (done - args.warmup)
            print(
                f"\nafter batch {n + 1} ({done} evaluations, {statuses}): traced "
                f"{traced / 2**20:.1f} MiB ({per_eval:+.2f} KiB/evaluation since warm-up), "
                f"RSS {rss_kib() / 1024:.0f} MiB; top growth:"
            )
            print("\n".join(growth(base_snap, snap, args.top)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
