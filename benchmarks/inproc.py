"""Quorum's PanelRunner in-process: the same evaluations as the floor, judged through
`LiteLLMClient` (prompt rendering, retries/deadline bookkeeping, verdict parsing, votes),
with no HTTP server and no database.

A worker of bench.py in its own process, driven by JSON commands on stdin like floor.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from common import claim_stdout, item, timed_run  # noqa: E402

from judges import JudgeConfig, PanelRunner  # noqa: E402
from judges.litellm_client import LiteLLMClient, configure_litellm  # noqa: E402
from rubrics import LIBRARY_DIR, Item, load_rubrics  # noqa: E402

RUBRICS = load_rubrics([LIBRARY_DIR])


def panel(base_url: str, behaviour: str, judges: int, timeout: float) -> list[JudgeConfig]:
    return [
        JudgeConfig(
            name=f"judge-{i + 1}",
            model=f"openai/{behaviour}",
            api_base=base_url,
            family=f"family-{i}",
            timeout_s=timeout,
        )
        for i in range(judges)
    ]


async def measure(
    runner: PanelRunner, judges: list[JudgeConfig], deadline_s: float, cmd: dict[str, Any]
) -> dict[str, Any]:
    """Warm up, then judge `evals` evaluations at fixed concurrency; measure this process."""
    rubric = RUBRICS["helpfulness"]
    errors: list[str] = []

    async def evaluation(i: int) -> float:
        started = time.perf_counter()
        votes = await runner.run(judges, rubric, Item(**item(i)), deadline_s=deadline_s)
        for vote in votes:
            if not vote.usable:
                errors.append(f"{vote.judge}: {vote.error or vote.unscored}: {vote.detail}"[:200])
        return time.perf_counter() - started

    return await timed_run(evaluation, cmd, errors)


async def serve(args: argparse.Namespace) -> None:
    """Answer JSON commands read from stdin, one JSON line each (see bench.py)."""
    configure_litellm()  # as the api lifespan does, once
    runner = PanelRunner(LiteLLMClient())
    loop = asyncio.get_running_loop()
    answers = claim_stdout()
    print(json.dumps({"ready": True}), file=answers, flush=True)
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        cmd = json.loads(line)
        judges = panel(args.base_url, cmd["behaviour"], args.judges, args.timeout)
        result = await measure(runner, judges, args.deadline, cmd)
        print(json.dumps(result), file=answers, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--judges", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--deadline", type=float, default=60.0)
    args = parser.parse_args()
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
