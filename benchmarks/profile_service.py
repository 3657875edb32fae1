"""Profile `quorum serve` under the instant-judge load with py-spy, and say what dominates.

Starts the judge double and the service (SQLite by default) as in bench.py, warms the
service up, then attaches `py-spy record` to the server process for the measured load
only (start-up and imports are not in the profile), and summarises the samples:

  * self time by package (where the CPU is burnt: litellm, openai, pydantic, sqlalchemy...)
  * inclusive time of the activities that matter (a judge call, a commit, the response
    serialisation...), which overlap: a sample counts for every activity on its stack.

    pip install -e '.[bench]'   # once: py-spy (the project's bench extra)
    python benchmarks/profile_service.py [--evals 400] [--database postgres] [--out DIR]

The raw collapsed stacks (`profile.txt`, one stack per line with its sample count) stay
in the output directory for flamegraph tools (speedscope.app, flamegraph.pl).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from bench import http_load  # noqa: E402
from common import (  # noqa: E402
    DEFAULT_POSTGRES,
    judge_double,
    quorum_server,
    scratch_postgres,
    thread_cpu_seconds,
    write_config,
)

# (label, regex over one frame "function (path:line)", or "PARENT  > CHILD" for a frame
# directly called by another); inclusive, so they overlap.
ACTIVITIES: list[tuple[str, str]] = [
    ("judge calls: litellm.acompletion (all of it)", r"^acompletion \(litellm/"),
    ("  litellm sync part in its thread pool", r"^_WorkItem\.run \(concurrent/futures"),
    ("  openai SDK request/response", r"\(openai/"),
    ("  aiohttp/httpx transport", r"\((aiohttp|httpx|httpcore)/"),
    ("  litellm logging/cost in the call", r"litellm_logging\.py|cost_calculator\.py"),
    ("LiteLLMClient.complete (its coroutine stack)", r"^LiteLLMClient\.complete "),
    (
        "  litellm.completion_cost called by the adapter",
        r"^LiteLLMClient\.complete  > ^completion_cost ",
    ),
    (
        "litellm.completion_cost, anywhere (mostly litellm's own logging)",
        r"^completion_cost \(litellm/",
    ),
    ("PanelRunner (fan-out, votes)", r"^PanelRunner\."),
    ("rubrics: render prompt", r"^render \((rubrics/)?prompt\.py"),
    ("rubrics: parse verdict", r"^parse_verdict "),
    ("routing: conclude (aggregate, agreement, policy)", r"^conclude "),
    ("database: SQLAlchemy session work (any)", r"\(sqlalchemy/|\(sqlmodel/"),
    ("  AsyncSession.commit / flush", r"^(AsyncSession\.commit|Session\.commit|Session\._flush)"),
    ("  driver (aiosqlite thread / psycopg)", r"\((aiosqlite|psycopg|sqlite3)/"),
    ("pydantic (validation, model_dump, schema)", r"\(pydantic(_core)?/"),
    ("JSON encode/decode (stdlib json)", r"\(json/"),
    ("FastAPI request handling (routing, deps, serialise)", r"\(fastapi/"),
    (
        "  FastAPI response serialisation",
        r"^(serialize_response|_serialize_response|jsonable_encoder)",
    ),
    ("api: present.evaluation (rows -> response model)", r"^evaluation \((api/)?present\.py"),
    ("api: EvaluationService.submit", r"^EvaluationService\.submit "),
    ("api: Metrics.observe (prometheus)", r"^Metrics\.observe "),
    ("stdlib logging (access log etc.)", r"\(logging/"),
]


# Exclusive attribution of each sample, summing to 100%: a judge call or a database call
# anywhere on the stack wins; otherwise the leaf-most frame that belongs to a known owner.
JUDGE = "judge calls: litellm + openai SDK + aiohttp (inside LiteLLMClient.complete)"
DATABASE = "database: SQLAlchemy/SQLModel + driver (aiosqlite/psycopg)"
QUORUM = "Quorum's own code (rubrics, judges, routing, api)"
OUR_PYDANTIC = "pydantic called by Quorum's code (our models)"
FASTAPI = "FastAPI/Starlette (incl. its pydantic validation/serialisation)"
JSON = "stdlib json"
LOGGING = "stdlib logging (uvicorn access log...)"
UVICORN = "uvicorn/httptools HTTP"
LOOP = "event loop (asyncio/uvloop) and other"
BUCKETS = [JUDGE, DATABASE, QUORUM, OUR_PYDANTIC, FASTAPI, JSON, LOGGING, UVICORN, LOOP]
_JUDGE_RX = re.compile(r"^LiteLLMClient\.complete |\((litellm|openai|aiohttp)/")
_DB_RX = re.compile(r"\((sqlalchemy|sqlmodel|aiosqlite|psycopg|psycopg_pool|sqlite3)/")
_WRAPPERS = re.compile(r"^(BodyLimit\.__call__|cmd_serve|main|<module>) \(api/")


def bucket(frames: list[str]) -> str:
    """The owner of one sample's stack (frames root first, relative paths)."""
    if any(_JUDGE_RX.search(f) for f in frames):
        return JUDGE
    if any(_DB_RX.search(f) for f in frames):
        return DATABASE
    for i in range(len(frames) - 1, -1, -1):
        owner = package(frames[i])
        if owner == "stdlib json":
            return JSON
        if owner == "stdlib logging":
            return LOGGING
        if owner in ("pydantic", "pydantic_core"):
            for caller in reversed(frames[:i]):
                who = package(caller)
                if who.startswith("quorum") and not _WRAPPERS.search(caller):
                    return OUR_PYDANTIC
                if who in ("fastapi", "starlette"):
                    return FASTAPI
            return FASTAPI
        if owner.startswith("quorum") and not _WRAPPERS.search(frames[i]):
            return QUORUM
        if owner in ("fastapi", "starlette"):
            return FASTAPI
        if owner in ("uvicorn", "httptools"):
            return UVICORN
    return LOOP


PROJECT = ("api", "judges", "routing", "rubrics", "benchmarks", "tests")


def relative(frame: str) -> str:
    """`func (/.../site-packages/pkg/mod.py:12)` -> `func (pkg/mod.py:12)`; likewise for the
    standard library and the repository. py-spy runs with --full-filenames."""
    match = re.search(r"\(([^()]*)\)$", frame)
    if not match:
        return frame
    path = match.group(1)
    for marker in ("site-packages/", f"/lib/python{sys.version_info[0]}.{sys.version_info[1]}/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    else:
        with contextlib.suppress(ValueError):
            path = str(Path(path).relative_to(HERE.parent))
    return f"{frame[: match.start()]}({path})"


def package(frame: str) -> str:
    """The package a (relative) frame's file belongs to."""
    match = re.search(r"\(([^()]*?)(?::\d+)?\)$", frame)
    path = match.group(1) if match else frame
    head = path.split("/", 1)[0].removesuffix(".py")
    if head in PROJECT:
        return f"quorum {head}/"
    if path.startswith("<") or not head:
        return "python internals"
    if head in sys.stdlib_module_names:
        return f"stdlib {head}"
    return head


def matches(pattern: list[re.Pattern[str]], frames: list[str]) -> bool:
    """One regex: any frame matches; two: a frame matching the first directly calls one
    matching the second."""
    if len(pattern) == 1:
        return any(pattern[0].search(f) for f in frames)
    parent, child = pattern
    return any(parent.search(a) and child.search(b) for a, b in itertools.pairwise(frames))


def summarise(collapsed: Path, top: int = 18) -> str:
    """Self time by package and inclusive time per activity, from py-spy's raw output."""
    by_package: collections.Counter[str] = collections.Counter()
    by_function: collections.Counter[str] = collections.Counter()
    by_activity: collections.Counter[str] = collections.Counter()
    by_bucket: collections.Counter[str] = collections.Counter()
    patterns = [
        (label, [re.compile(part) for part in rx.split("  > ")]) for label, rx in ACTIVITIES
    ]
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [
            relative(f) for f in stack.split(";") if f and not f.startswith(("process ", "thread "))
        ]
        if not frames:
            continue
        leaf = frames[-1]
        by_package[package(leaf)] += n
        by_function[re.sub(r":\d+\)$", ")", leaf)] += n
        for label, rx in patterns:
            if matches(rx, frames):
                by_activity[label] += n
        by_bucket[bucket(frames)] += n
    if not total:
        return "no samples"
    lines = [f"{total} samples", "", "exclusive breakdown (sums to 100%):"]
    lines += [f"  {100 * by_bucket[label] / total:5.1f}%  {label}" for label in BUCKETS]
    lines += ["", "self time by package:"]
    lines += [f"  {100 * c / total:5.1f}%  {p}" for p, c in by_package.most_common(top)]
    lines += ["", "self time, top functions:"]
    lines += [f"  {100 * c / total:5.1f}%  {f[:110]}" for f, c in by_function.most_common(top)]
    lines += ["", "inclusive time by activity (overlapping):"]
    lines += [f"  {100 * by_activity[label] / total:5.1f}%  {label}" for label, _ in ACTIVITIES]
    return "\n".join(lines)


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        sys.exit("py-spy not found: `.venv/bin/pip install -e '.[bench]'` first")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--evals", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=32)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--behaviour", default="sleep-0-honest")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--postgres", default=os.environ.get("QUORUM_BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    )
    parser.add_argument("--gil", action="store_true", help="only samples holding the GIL")
    parser.add_argument("--analyse", type=Path, help="only summarise this profile.txt")
    parser.add_argument("--out", type=Path, help="directory for profile.txt and summary.txt")
    args = parser.parse_args()
    if args.analyse:
        print(summarise(args.analyse))
        return 0
    spy = py_spy()
    out = args.out or Path(tempfile.mkdtemp(prefix="quorum-profile-"))
    out.mkdir(parents=True, exist_ok=True)
    collapsed = out / "profile.txt"
    with contextlib.ExitStack() as stack:
        base, _ = stack.enter_context(judge_double(out))
        config = write_config(out / "quorum.yaml", base, {"bench": args.behaviour})
        if args.database == "sqlite":
            url = f"sqlite:///{out / 'profile.db'}"
        else:
            url = stack.enter_context(scratch_postgres(args.postgres))
        base_url, server = stack.enter_context(quorum_server(out, config, url, "service"))
        warm = {"evals": 0, "warmup": args.warmup, "concurrency": args.concurrency}
        asyncio.run(http_load(base_url, server, "bench", warm))
        record = subprocess.Popen(
            [spy, "record", "--pid", str(server.pid), "--rate", str(args.rate)]
            + ["--format", "raw", "--full-filenames", "--nonblocking", "--output", str(collapsed)]
            + (["--gil"] if args.gil else []),
            stdout=subprocess.DEVNULL,
            stderr=(out / "py-spy.log").open("wb"),
        )
        time.sleep(1.0)  # let py-spy attach
        cmd = {"evals": args.evals, "warmup": 0, "concurrency": args.concurrency}
        threads0 = thread_cpu_seconds(server.pid)
        result = asyncio.run(http_load(base_url, server, "bench", cmd))
        threads1 = thread_cpu_seconds(server.pid)
        record.send_signal(signal.SIGINT)
        record.wait(timeout=60)
    main_ms = (threads1.get(server.pid, 0) - threads0.get(server.pid, 0)) / args.evals * 1000
    other = {t: c - threads0.get(t, 0.0) for t, c in threads1.items() if t != server.pid}
    busy = sum(1 for c in other.values() if c > 0)
    other_ms = sum(other.values()) / args.evals * 1000
    mode = "only samples holding the GIL" if args.gil else "all non-idle threads"
    rate = result["evals"] / result["wall_s"]
    cpu = result["cpu_s"] / result["evals"] * 1000
    text = (
        f"service ({args.database}) under py-spy: {result['evals']} evaluations, "
        f"{args.concurrency} concurrent, {rate:.1f} evals/s, {cpu:.1f} ms server CPU/eval, "
        f"{result['errors']} errors\n"
        f"server CPU by thread: main (event loop) {main_ms:.1f} ms/eval; {busy} other threads "
        f"(aiosqlite connections, litellm's executor...) {other_ms:.1f} ms/eval\n"
        f"py-spy: {mode}\n\n" + summarise(collapsed)
    )
    (out / "summary.txt").write_text(text + "\n")
    print(text)
    print(f"\nraw stacks: {collapsed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
