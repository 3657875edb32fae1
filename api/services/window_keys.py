"""An evaluation's vote pattern: everything the window statistics read from it, as a key.

The window figures (`api.services.stats`) read, per concluded evaluation, each judge's
reconciled value with its position flags (`consistent`, `first_position_won`) and the
human verdict if a human decided. That tuple is the evaluation's *pattern*; evaluations
with equal patterns are interchangeable for every figure, so the store keeps how many
evaluations of each pattern a panel concluded per hour (`window_counts`) and the
statistics sum those counts (`routing.pattern_agreement`). The pattern is a canonical
JSON text, so equal patterns are equal strings on every backend.

Keeping the counts exact (`WindowCountsRepository.recount`): each evaluation row records
the key it is counted under (`window_key`, None when not counted). A change (concluded,
reviewed, deleted) moves one count from the old key to the new one and stores the new
key on the row in the same transaction, so applying it twice changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

COUNTED = ("decided", "in_review")
"""Statuses whose evaluations enter the window statistics."""


def window_key(
    status: str | None, outcome: Any, verdict_value: Any, verdict_source: str | None
) -> str | None:
    """The pattern key of an evaluation, or None when it is not counted (not concluded
    or failed). `outcome` and `verdict_value` are decoded (see `raw_window_key`)."""
    if status not in COUNTED:
        return None
    judges: list[list[Any]] = []
    for j in (outcome or {}).get("judges", ()) or ():
        entry = [j.get("judge"), j.get("value")]
        consistent, first = j.get("consistent"), j.get("first_position_won")
        if consistent is not None or first is not None:
            entry += [consistent, first]
        judges.append(entry)
    key: dict[str, Any] = {"j": judges}
    if verdict_source == "human" and verdict_value is not None:
        key["h"] = verdict_value
    return json.dumps(key, separators=(",", ":"), sort_keys=True)


def raw_window_key(
    status: str | None, outcome: Any, verdict_value: Any, verdict_source: str | None
) -> str | None:
    """`window_key` of columns read as JSON text (`CAST(... AS TEXT)`: cheaper than the
    ORM's decoding)."""
    if status not in COUNTED:
        return None
    return window_key(
        status,
        json.loads(outcome) if isinstance(outcome, str) else outcome,
        json.loads(verdict_value) if isinstance(verdict_value, str) else verdict_value,
        verdict_source,
    )


def row_key(row: Any) -> str | None:
    """`window_key` of an evaluation row (ORM object or anything with its attributes)."""
    return window_key(row.status, row.outcome, row.verdict_value, row.verdict_source)


def decode(key: str) -> tuple[list[dict[str, Any]], tuple[bool, Any]]:
    """(judge entries as in an outcome, (human decided?, human value)) of a pattern key."""
    data = json.loads(key)
    judges = []
    for entry in data.get("j", ()):
        judge: dict[str, Any] = {"judge": entry[0], "value": entry[1]}
        if len(entry) > 2:
            judge["consistent"], judge["first_position_won"] = entry[2], entry[3]
        judges.append(judge)
    return judges, ("h" in data, data.get("h"))
