"""Window agreement statistics over 200k stored evaluations: time, memory, event-loop lag.

    .venv/bin/python benchmarks/agreement_window.py [--items 200000] [--db /tmp/agree.db]

Fills a fresh SQLite database (through the migrations) with N evaluations of a three-judge
pointwise panel (about 10% of votes missing, 5% with a human verdict), created over the
last 20 hours, as rows stored before the window counts existed. Then:

1. the start-up backfill counts them (`StatsService.backfill`), timed;
2. the same code as GET /v1/panels/{name}/agreement reads a 1-day window from the
   per-hour pattern counts, while a ticker coroutine measures how long the event loop is
   blocked; its peak traced Python memory (tracemalloc) is recorded;
3. for comparison, the item-level computation the service used to run (every row of the
   window loaded, decoded and put through `routing.panel_agreement`), timed and traced the
   same way, with the largest difference between the two reports' point estimates.

Prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def fill(db: Path, n: int, seed: int = 0) -> None:
    from api.store.migrate import upgrade

    if db.exists():
        db.unlink()
    upgrade(f"sqlite:///{db}")
    rng = random.Random(seed)
    judges = ["a", "b", "c"]
    evals, votes = [], []
    started = time.time()
    for _ in range(n):
        eid = uuid.uuid4().hex
        at = time.gmtime(started - rng.uniform(0, 20 * 3600))
        now = time.strftime("%Y-%m-%d %H:%M:%S.000000", at)
        truth = rng.randint(1, 5)
        human = rng.random() < 0.05
        verdicts = []
        for j in judges:
            value = (
                None if rng.random() < 0.1 else max(1, min(5, truth + rng.choice((-1, 0, 0, 1))))
            )
            verdicts.append({"judge": j, "value": value, "consistent": None})
            votes.append(
                (
                    eid,
                    j,
                    "openai/x",
                    "{}",
                    json.dumps(value),
                    "",
                    "h" * 64,
                    100.0,
                    1,
                    None if value is not None else "no_json",
                    now,
                )
            )
        outcome = {"panel_value": truth, "judges": verdicts, "weights": {}}
        evals.append(
            (
                eid,
                "evaluation",
                "p",
                "helpfulness",
                1,
                "decided",
                "{}",
                "{}",
                f"req{eid}",
                rng.random(),
                json.dumps(max(1, min(5, truth + rng.choice((-1, 0, 1)))) if human else truth),
                1,
                "human" if human else "panel",
                0.8,
                json.dumps(outcome),
                "auto",
                "[]",
                1,
                now,
                now,
                now,
            )
        )
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO evaluations (id, kind, panel, rubric_id, rubric_version, status, input,"
            " request_metadata, request_sha256, audit_draw, verdict_value, verdict_compliant,"
            " verdict_source, confidence, outcome, routing_decision, routing_reasons, runs,"
            " created_at, updated_at, completed_at) VALUES"
            " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            evals,
        )
        conn.executemany(
            "INSERT INTO votes (evaluation_id, judge, model, params, value, detail,"
            " prompt_sha256, latency_ms, attempts, unscored, created_at, reversed_scale)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,0)",
            votes,
        )


def _service(db: Path, max_items: int) -> Any:
    from api.config import PanelConfig, QuorumConfig
    from api.services.stats import StatsService
    from api.store.engine import make_sync_engine
    from judges import JudgeConfig
    from rubrics import LIBRARY_DIR, load_rubrics

    rubrics = load_rubrics([LIBRARY_DIR])
    judges = {j: JudgeConfig(name=j, model="openai/x") for j in ("a", "b", "c")}
    panel = PanelConfig(name="p", rubric="helpfulness", judges=("a", "b", "c"))
    config = QuorumConfig(path="bench", judges=judges, panels={"p": panel}, rubrics=rubrics)
    return StatsService(config, make_sync_engine(f"sqlite:///{db}"), max_items)


def _traced(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, seconds, peak traced MiB) of fn()."""
    tracemalloc.start()
    started = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return result, elapsed, peak


def item_level(stats: Any, since: datetime) -> Any:
    """The figures from every row of the window (the computation before the counts)."""
    from api.services.stats import code_matrix
    from api.store import Session
    from api.store.window import WindowRepository
    from routing import panel_agreement

    panel, rubric = stats.config.panel_rubric("p")
    with Session(stats.engine) as session:
        newest = WindowRepository(session).concluded(panel.name, rubric.id, since, 10**9)
    codes, human = code_matrix(rubric, panel.judges, [(r[0], r[1], r[2]) for r in newest])
    return panel_agreement(rubric, panel.judges, codes, human)


async def measure(db: Path, max_items: int) -> dict[str, Any]:
    from api.store.tables import utcnow

    stats = _service(db, max_items)
    started = time.perf_counter()
    counted = await stats.backfill()
    backfill_s = time.perf_counter() - started
    lag = 0.0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal lag
        while not stop.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            lag = max(lag, time.perf_counter() - t - 0.01)

    tick = asyncio.create_task(ticker())
    since = utcnow() - timedelta(days=1)
    panel, rubric = stats.config.panel_rubric("p")
    await stats.agreement("p", "1d")  # warm: imports, the first connection
    tracemalloc.start()
    started = time.perf_counter()
    report = await asyncio.to_thread(stats._compute, panel, rubric, since)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    stop.set()
    await tick
    items, items_s, items_peak = _traced(lambda: item_level(stats, since))
    stats.engine.dispose()
    got, want = report.agreement, items
    assert got.fleiss_kappa is not None and want.fleiss_kappa is not None
    assert got.krippendorff_alpha is not None and want.krippendorff_alpha is not None
    diffs = [
        abs(got.fleiss_kappa.value - want.fleiss_kappa.value),
        abs(got.krippendorff_alpha.value - want.krippendorff_alpha.value),
        *(
            abs((got.cohen_kappa[a][b] or 0.0) - (want.cohen_kappa[a][b] or 0.0))
            for a in got.judges
            for b in got.judges
        ),
        *(
            abs(x.value - y.value)
            for j in got.judges
            if (x := got.human_kappa[j]) is not None and (y := want.human_kappa[j]) is not None
        ),
    ]
    return {
        "backfilled": counted,
        "backfill_s": backfill_s,
        "items": got.n_items,
        "patterns": report.n_patterns,
        "seconds": elapsed,
        "peak_mib": peak,
        "max_loop_lag_s": lag,
        "fleiss_kappa": got.fleiss_kappa.value,
        "fleiss_ci": (got.fleiss_kappa.ci_low, got.fleiss_kappa.ci_high),
        "item_level_s": items_s,
        "item_level_peak_mib": items_peak,
        "item_level_fleiss_ci": (want.fleiss_kappa.ci_low, want.fleiss_kappa.ci_high),
        "max_abs_difference": max(diffs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument(
        "--max-items",
        type=int,
        default=20_000,
        help="QUORUM_STATS_MAX_ITEMS (the service's default; bounds weighted panels' fits)",
    )
    parser.add_argument("--db", type=Path, default=Path("/tmp/quorum-agreement-bench.db"))
    args = parser.parse_args()
    t = time.perf_counter()
    fill(args.db, args.items)
    print(f"filled {args.items} evaluations in {time.perf_counter() - t:.1f} s")
    r = asyncio.run(measure(args.db, args.max_items))
    print(f"backfill: {r['backfilled']} evaluations counted in {r['backfill_s']:.1f} s")
    print(
        f"agreement from counts over {r['items']} items ({r['patterns']} patterns): "
        f"{r['seconds']:.3f} s, peak traced {r['peak_mib']:.1f} MiB, longest event-loop "
        f"stall {r['max_loop_lag_s'] * 1000:.0f} ms; Fleiss' kappa {r['fleiss_kappa']:.4f} "
        f"95% CI ({r['fleiss_ci'][0]:.4f}, {r['fleiss_ci'][1]:.4f})"
    )
    print(
        f"item-level over the same window: {r['item_level_s']:.2f} s, peak traced "
        f"{r['item_level_peak_mib']:.0f} MiB; Fleiss 95% CI ({r['item_level_fleiss_ci'][0]:.4f}, "
        f"{r['item_level_fleiss_ci'][1]:.4f}); largest point-estimate difference "
        f"{r['max_abs_difference']:.1e}"
    )


if __name__ == "__main__":
    main()
