"""Recorded-vote datasets for the backtest tests: writing a dataset file, record and vote
builders (the JSONL form), and synthetic sets with known answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from backtest.results import DatasetResult, Row
from backtest.strategies import STRATEGIES

REPO = Path(__file__).parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
MIRROR = {"A": "B", "B": "A", "tie": "tie"}
WAVES = [replay.name for replay in STRATEGIES]
"""The sequential and cascade rows, after the panels of all judges."""
GOOD = (
    '{"dataset": "d", "item": "1", "mode": "pointwise", "scale": [1, 2], "votes": [], "human": [1]}'
)
"""One valid pointwise record."""


def write_set(root: Path, name: str, records: list[dict[str, Any]]) -> Path:
    """A dataset directory <root>/<name>/votes.jsonl."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"dataset": name, "label_kind": "gold", **r}) for r in records]
    (folder / "votes.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def pv(judge: str, order: str, shown: str | None, unscored: str | None = None) -> dict[str, Any]:
    """A recorded pairwise vote, given as shown; stored in the canonical frame."""
    value = None if shown is None else (MIRROR[shown] if order == "BA" else shown)
    return {"judge": judge, "order": order, "value": value, "unscored": unscored}


def bool_vote(judge: str, value: bool) -> dict[str, Any]:
    return {"judge": judge, "order": None, "value": value, "unscored": None}


def pairwise_records() -> list[dict[str, Any]]:
    """40 labelled items (A on 2 of 3), 2 with tied humans, 1 unlabelled.

    oracle: always the human label; echo: the same, but its BA call failed on 5 items;
    first: always picks the response shown first (so both orders disagree, every time).
    """
    records = []
    for i in range(43):
        gold = "A" if i % 3 else "B"
        human: list[str] = [gold] if i < 40 else (["A", "B"] if i < 42 else [])
        echo_ba = (
            pv("echo", "BA", None, "empty completion") if i < 5 else pv("echo", "BA", MIRROR[gold])
        )
        votes = [
            pv("oracle", "AB", gold),
            pv("oracle", "BA", MIRROR[gold]),
            pv("echo", "AB", gold),
            echo_ba,
            pv("first", "AB", "A"),
            pv("first", "BA", "A"),
        ]
        records.append(
            {
                "item": f"p{i:02d}",
                "mode": "pairwise",
                "scale": ["A", "B", "tie"],
                "votes": votes,
                "human": human,
            }
        )
    return records


def pointwise_records() -> list[dict[str, Any]]:
    """1..5 scale; humans give 3 labels (2 on every fifth item, to exercise half-up)."""
    records = []
    for i in range(30):
        labels = [1 + i % 5, 1 + (i + 1) % 5, 1 + i % 5] if i % 5 else [2, 3]
        ref = 3 if i % 5 == 0 else 1 + i % 5  # median; [2, 3] rounds half up to 3
        votes = [
            {"judge": "sharp", "order": None, "value": ref, "unscored": None},
            {"judge": "low", "order": None, "value": max(1, ref - 1), "unscored": None},
            {"judge": "lazy", "order": None, "value": None if i < 3 else 3, "unscored": "mean < 1"},
        ]
        if i >= 3:
            votes[2]["unscored"] = None
        records.append(
            {
                "item": f"s{i}",
                "mode": "pointwise",
                "scale": [1, 2, 3, 4, 5],
                "votes": votes,
                "human": labels,
            }
        )
    return records


def rows(result: DatasetResult) -> dict[str, Row]:
    return {row.name: row for row in result.rows}
