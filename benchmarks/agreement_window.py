"""Window agreement statistics over 100k stored evaluations: time, and event-loop lag.

    .venv/bin/python benchmarks/agreement_window.py [--items 100000] [--db /tmp/agree.db]

Fills a fresh SQLite database (through the migrations) with N evaluations of a three-judge
pointwise panel (about 10% of votes missing), then runs the same code as
GET /v1/panels/{name}/agreement while a ticker coroutine measures how long the event loop
is blocked. Prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import time
import uuid
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def fill(db: Path, n: int, seed: int = 0) -> None:
    from api.store.migrate import upgrade

    if db.exists():
        db.unlink()
    upgrade(f"sqlite:///{db}")
    rng = random.Random(seed)
    judges = ["a", "b", "c"]
    now = time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime())
    evals, votes = [], []
    for _ in range(n):
        eid = uuid.uuid4().hex
        truth = rng.randint(1, 5)
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
                json.dumps(truth),
                1,
                "panel",
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


async def measure(db: Path, max_items: int) -> dict[str, float]:
    from api.config import PanelConfig, QuorumConfig
    from api.services.stats import StatsService
    from api.store.engine import make_sync_engine
    from judges import JudgeConfig
    from rubrics import LIBRARY_DIR, load_rubrics

    rubrics = load_rubrics([LIBRARY_DIR])
    judges = {j: JudgeConfig(name=j, model="openai/x") for j in ("a", "b", "c")}
    panel = PanelConfig(name="p", rubric="helpfulness", judges=("a", "b", "c"))
    config = QuorumConfig(path="bench", judges=judges, panels={"p": panel}, rubrics=rubrics)
    engine = make_sync_engine(f"sqlite:///{db}")
    stats = StatsService(config, engine, max_items)
    lag = 0.0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal lag
        while not stop.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            lag = max(lag, time.perf_counter() - t - 0.01)

    tick = asyncio.create_task(ticker())
    started = time.perf_counter()
    report = await stats.agreement("p", "1d")
    elapsed = time.perf_counter() - started
    stop.set()
    await tick
    engine.dispose()
    assert report.agreement.fleiss_kappa is not None
    return {
        "items": report.agreement.n_items,
        "truncated": report.truncated,
        "seconds": elapsed,
        "max_loop_lag_s": lag,
        "fleiss_kappa": report.agreement.fleiss_kappa.value,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument(
        "--max-items",
        type=int,
        default=20_000,
        help="QUORUM_STATS_MAX_ITEMS (the service's default); more than --items: no cap",
    )
    parser.add_argument("--db", type=Path, default=Path("/tmp/quorum-agreement-bench.db"))
    args = parser.parse_args()
    t = time.perf_counter()
    fill(args.db, args.items)
    print(f"filled {args.items} evaluations in {time.perf_counter() - t:.1f} s")
    result = asyncio.run(measure(args.db, args.max_items))
    print(
        f"agreement over {result['items']} items: {result['seconds']:.2f} s; "
        f"longest event-loop stall {result['max_loop_lag_s'] * 1000:.0f} ms; "
        f"Fleiss' kappa {result['fleiss_kappa']:.3f}"
    )


if __name__ == "__main__":
    main()
