"""A jury refit over a panel with a million stored evaluations: time and memory.

    .venv/bin/python benchmarks/jury_refit.py [--items 1000000] [--labelled 2000]
        [--max-items 200000] [--db /tmp/jury.db] [--reuse] [--select scale none]

Fills a fresh SQLite database (through the migrations) with N evaluations of a
three-judge pairwise panel asked in both orders (6 votes each; one judge biased towards
the first position), `--labelled` of them with a human verdict, then runs the service's
refit (`api.services.jury.fit_panel`: a bounded sample of the newest `--max-items`
unlabelled evaluations plus every labelled one, grouped into vote patterns while read)
and prints its time, the peak Python heap during the refit (tracemalloc) and the fitted
model's counts. The refit's cost is bounded by `--max-items` and the labels, not by N.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

if TYPE_CHECKING:
    from routing.jury import Selection

JUDGES = ("a", "b", "c")


def fill(db: Path, n: int, labelled: int, seed: int = 0) -> None:
    from api.store.migrate import upgrade

    if db.exists():
        db.unlink()
    upgrade(f"sqlite:///{db}")
    rng = random.Random(seed)
    now = time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime())
    with sqlite3.connect(db) as conn:
        for start in range(0, n, 50_000):
            evals, votes = [], []
            for i in range(start, min(n, start + 50_000)):
                eid = uuid.uuid4().hex
                truth = rng.choice("AB")
                for j, judge in enumerate(JUDGES):
                    for order in ("AB", "BA"):
                        if judge == "c" and rng.random() < 0.4:  # first-position bias
                            value = "A" if order == "AB" else "B"
                        else:
                            right = rng.random() < (0.85, 0.75, 0.7)[j]
                            value = truth if right else ("B" if truth == "A" else "A")
                        votes.append(
                            (
                                eid,
                                judge,
                                "openai/x",
                                "{}",
                                order,
                                json.dumps(value),
                                "",
                                "h" * 64,
                                100.0,
                                1,
                                now,
                            )
                        )
                human = i < labelled
                evals.append(
                    (
                        eid,
                        "comparison",
                        "p",
                        "pairwise-preference",
                        1,
                        "decided",
                        "{}",
                        "{}",
                        f"r{eid}",
                        rng.random(),
                        json.dumps(truth),
                        None,
                        "human" if human else "panel",
                        0.8,
                        "{}",
                        "auto",
                        "[]",
                        1,
                        now,
                        now,
                        now,
                    )
                )
            conn.executemany(
                "INSERT INTO evaluations (id, kind, panel, rubric_id, rubric_version, status,"
                " input, request_metadata, request_sha256, audit_draw, verdict_value,"
                " verdict_compliant, verdict_source, confidence, outcome, routing_decision,"
                " routing_reasons, runs, created_at, updated_at, completed_at) VALUES"
                " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                evals,
            )
            conn.executemany(
                'INSERT INTO votes (evaluation_id, judge, model, params, "order", value,'
                " detail, prompt_sha256, latency_ms, attempts, created_at, reversed_scale)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,0)",
                votes,
            )


def measure(db: Path, max_items: int, selection: Selection) -> dict[str, object]:
    from sqlmodel import Session

    from api.services.jury import fit_panel
    from api.store import make_sync_engine
    from api.store.jury import JuryTrainingReader
    from routing.jury import describe_priors
    from rubrics import LIBRARY_DIR, load_rubrics

    rubric = load_rubrics([LIBRARY_DIR])["pairwise-preference"]
    engine = make_sync_engine(f"sqlite:///{db}")
    tracemalloc.start()
    with Session(engine) as session:
        reader = JuryTrainingReader(session, "p", rubric.id)
        model, seconds = fit_panel(reader, rubric, max_items, selection)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    engine.dispose()
    return {
        "refit_s": round(seconds, 2),
        "peak_heap_mib": round(peak / 2**20, 1),
        "items_read": model.n_items,
        "labelled": model.n_labelled,
        "patterns": model.n_patterns,
        "em_rounds": model.iterations,
        "converged": model.converged,
        "error_model": describe_priors(model.priors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--labelled", type=int, default=2_000)
    parser.add_argument("--max-items", type=int, default=200_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/quorum-jury-refit.db"))
    parser.add_argument("--reuse", action="store_true", help="measure on an existing --db")
    parser.add_argument(
        "--select",
        nargs="+",
        default=["scale"],
        choices=["scale", "none"],
        help="the refit's error-model selection policy(s) to measure (routing.jury.selects)",
    )
    args = parser.parse_args()
    if not args.reuse:
        started = time.perf_counter()
        fill(args.db, args.items, args.labelled)
        print(f"filled {args.items} evaluations in {time.perf_counter() - started:.1f} s")
    for cap in sorted({args.max_items // 4, args.max_items}):
        for selection in args.select:
            figures = measure(args.db, cap, selection)
            print(
                json.dumps({"stored": args.items, "max_items": cap, "select": selection, **figures})
            )


if __name__ == "__main__":
    main()
