"""The cyclic garbage collector's share of the panel runner, with and without the frozen
start-up heap (`judges.heap`), in one process.

`PanelRunner(LiteLLMClient())` judges the instant-judge items as `inproc.py` does, in
rounds that alternate between two states of the same process: *unfrozen* (`gc.unfreeze()`:
litellm's import-time objects back in the oldest generation, as before the freeze) and
*frozen* (`gc.freeze()` again). `gc.callbacks` times every collection; per state it prints
collections and milliseconds per generation, the longest single pause (the event loop
stands still for it), and CPU per evaluation. Medians over rounds; a state's first round
follows the other state's, so neither gets a warmer cache.

    .venv/bin/python benchmarks/gc_pauses.py --rounds 4 --evals 600
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from common import at_concurrency, cpu_seconds, item, judge_double, machine  # noqa: E402
from inproc import RUBRICS, panel  # noqa: E402

from judges import PanelRunner  # noqa: E402
from judges.litellm_client import LiteLLMClient, configure_litellm  # noqa: E402
from rubrics import Item  # noqa: E402


class Collections:
    """Every collection's generation and duration, from `gc.callbacks`."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._started))


async def one_round(
    runner: PanelRunner, base_url: str, first: int, args: argparse.Namespace, seen: Collections
) -> dict[str, float]:
    judges = panel(base_url, "honest", 3, 30.0)
    rubric = RUBRICS["helpfulness"]

    async def evaluation(i: int) -> None:
        await runner.run(judges, rubric, Item(**item(i)), deadline_s=60.0)

    seen.pauses.clear()
    cpu0 = cpu_seconds()
    await at_concurrency(evaluation, first, args.evals, args.concurrency)
    cpu = cpu_seconds() - cpu0
    row: dict[str, float] = {"cpu_ms": cpu / args.evals * 1000}
    for generation in (0, 1, 2):
        times = [t for g, t in seen.pauses if g == generation]
        row[f"n{generation}"] = len(times)
        row[f"ms{generation}"] = sum(times) * 1000
    row["longest_ms"] = max((t for _, t in seen.pauses), default=0.0) * 1000
    row["gc_ms_per_eval"] = sum(t for _, t in seen.pauses) * 1000 / args.evals
    return row


async def measure(base_url: str, args: argparse.Namespace) -> dict[str, list[dict[str, float]]]:
    configure_litellm()  # freezes the start-up heap, as the service's start-up does
    runner = PanelRunner(LiteLLMClient())
    seen = Collections()
    first = 0
    warmup = argparse.Namespace(**{**vars(args), "evals": 100})
    await one_round(runner, base_url, first, warmup, seen)
    first += 100
    gc.collect()
    gc.freeze()  # what was lazily built by the first calls, too
    rows: dict[str, list[dict[str, float]]] = {"unfrozen": [], "frozen": []}
    for r in range(args.rounds):
        order = ("unfrozen", "frozen") if r % 2 == 0 else ("frozen", "unfrozen")
        for state in order:
            if state == "unfrozen":
                gc.unfreeze()
            else:
                gc.freeze()
            rows[state].append(await one_round(runner, base_url, first, args, seen))
            first += args.evals
            print(f"  round {r + 1}: {state}", file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--evals", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="quorum-gc-") as work,
        judge_double(Path(work)) as (base_url, _),
    ):
        started = time.perf_counter()
        rows = asyncio.run(measure(base_url, args))
        took = time.perf_counter() - started
    print(f"machine: {machine()}")
    print(
        f"instant judge, {args.evals} evaluations x 3 judges, {args.concurrency} concurrent, "
        f"panel runner in-process, median of {args.rounds} rounds ({took:.0f} s)"
    )
    print(
        f"{'state':10} {'gen0 n / ms':>13} {'gen1 n / ms':>13} {'gen2 n / ms':>13}"
        f" {'longest ms':>11} {'GC ms/eval':>11} {'CPU ms/eval':>12}"
    )
    for state, runs in rows.items():
        med = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        gens = [f"{med[f'n{g}']:.0f} / {med[f'ms{g}']:.0f}" for g in (0, 1, 2)]
        print(
            f"{state:10} {gens[0]:>13} {gens[1]:>13} {gens[2]:>13} {med['longest_ms']:>11.1f}"
            f" {med['gc_ms_per_eval']:>11.2f} {med['cpu_ms']:>12.2f}"
        )
    pairs = zip(rows["frozen"], rows["unfrozen"], strict=True)
    ratios = ", ".join(f"{f['cpu_ms'] / u['cpu_ms']:.3f}" for f, u in pairs)
    print(f"frozen / unfrozen, CPU per evaluation per round: {ratios}")


if __name__ == "__main__":
    main()
