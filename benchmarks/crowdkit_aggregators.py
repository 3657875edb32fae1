"""Unsupervised aggregators of crowd-kit on the recorded sets, against the naive plurality.

    .venv/bin/python benchmarks/crowdkit_aggregators.py [PATH ...]   # default: ../shared/data/*

Prints one markdown table: per set, the accuracy against the human reference (the
backtest's: `backtest.replay.human_reference`) of the naive plurality of raw votes
(`backtest.jury.plurality`, a tie counts wrong) and of crowd-kit's majority vote,
Dawid-Skene, one-coin Dawid-Skene, GLAD (a difficulty per item: errors correlated through
hard items), MACE and KOS (binary scales only), each fitted on the votes alone (no
label), every (judge, order) one worker as in Quorum's jury. It answers one question of
docs/backtest.md ("Where it fails"): whether some well-known unsupervised model beats
equal votes where Quorum's jury does not. Not a test and not the backtest: crowd-kit is
a development dependency (`pip install -e '.[dev]'`), and none of this runs in the
service.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backtest.datasets import find_datasets, load_dataset
from backtest.jury import plurality
from backtest.replay import human_reference

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def aggregators() -> dict[str, Any]:
    import crowdkit.aggregation as ck

    return {
        "majority vote": ck.MajorityVote(),
        "Dawid-Skene": ck.DawidSkene(n_iter=1000),
        "one-coin DS": ck.OneCoinDawidSkene(n_iter=1000),
        "GLAD": ck.GLAD(n_iter=200),
        "MACE": ck.MACE(n_iter=200),
        "KOS": ck.KOS(),
    }


def run(path: Path) -> tuple[str, int, dict[str, float]]:
    ds = load_dataset(path)
    rubric = ds.rubric
    rows, ref = [], {}
    for it in ds.items:
        label, _ = human_reference(rubric, it.human)
        if label is not None:
            ref[it.item] = label
        for v in it.votes:
            if v.usable and rubric.index(v.value) is not None:
                worker = f"{v.judge}/{v.order}" if v.order else v.judge
                rows.append((it.item, worker, rubric.index(v.value)))
    votes = pd.DataFrame(rows, columns=["task", "worker", "label"])
    truth = pd.Series({k: rubric.index(v) for k, v in ref.items()})
    right = sum(plurality(ds, list(it.votes)) == ref[it.item] for it in ds.items if it.item in ref)
    out = {"plurality": right / len(ref)}
    for name, model in aggregators().items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                got = model.fit_predict(votes)
            except ValueError:  # KOS: binary scales only
                out[name] = math.nan
                continue
        out[name] = float((got.reindex(truth.index) == truth).mean())
    return path.name, len(ref), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    args = parser.parse_args()
    paths = args.paths or find_datasets(DATA)
    names = ["plurality", *aggregators()]
    print("| set | items | " + " | ".join(names) + " | best |")
    print("|---|---:|" + "---:|" * len(names) + "---|")
    for path in paths:
        started = time.perf_counter()
        name, n, acc = run(path)
        best = max((k for k in acc if not math.isnan(acc[k])), key=lambda k: acc[k])
        cells = " | ".join("–" if math.isnan(acc[k]) else f"{acc[k]:.3f}" for k in names)
        print(f"| {name} | {n} | {cells} | {best} |", flush=True)
        print(f"  ({time.perf_counter() - started:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
