"""An evaluation's vote pattern: everything the window statistics read from it, as a key.

The window figures (`api.services.stats`) read, per concluded evaluation, each judge's
reconciled value with its position flags (`consistent`, `first_position_won`), the
human verdict if a human decided, and how each judge's calls ended (ok, unscored, error:
the call counts and rates). That tuple is the evaluation's *pattern*; evaluations
with equal patterns are interchangeable for every figure, so the store keeps how many
evaluations of each pattern a panel concluded per hour (`window_counts`) and the
statistics sum those counts (`routing.pattern_stats`). The pattern is a canonical
JSON text, so equal patterns are equal strings on every backend.

Keeping the counts exact (`WindowCountsRepository.recount`): each evaluation row records
the key it is counted under (`window_key`, None when not counted). A change (concluded,
reviewed, deleted) moves one count from the old key to the new one and stores the new
key on the row in the same transaction, so applying it twice changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

COUNTED = ("decided", "in_review")
"""Statuses whose evaluations enter the window statistics."""


Calls = dict[str, list[int]]
"""Per judge: [ok, unscored, error] counts of its stored votes (calls)."""


def call_kind(unscored: Any, error: Any) -> int:
    """0 ok, 1 unscored, 2 error: how one stored vote ended (as `vote_outcomes` counts)."""
    return 2 if error is not None else 1 if unscored is not None else 0


def tally(votes: Iterable[tuple[str, Any, Any]]) -> Calls:
    """`Calls` of an evaluation's (judge, unscored, error) votes."""
    calls: Calls = {}
    for judge, unscored, error in votes:
        calls.setdefault(judge, [0, 0, 0])[call_kind(unscored, error)] += 1
    return calls


def window_key(
    status: str | None,
    outcome: Any,
    verdict_value: Any,
    verdict_source: str | None,
    calls: Calls | None = None,
) -> str | None:
    """The pattern key of an evaluation, or None when it is not counted (not concluded
    or failed). `outcome` and `verdict_value` are decoded (see `raw_window_key`);
    `calls` are its votes' outcomes per judge (`tally`)."""
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
    if calls:
        key["c"] = {judge: list(counts) for judge, counts in calls.items()}
    if verdict_source == "human" and verdict_value is not None:
        key["h"] = verdict_value
    return json.dumps(key, separators=(",", ":"), sort_keys=True)


def raw_window_key(
    status: str | None,
    outcome: Any,
    verdict_value: Any,
    verdict_source: str | None,
    calls: Calls | None = None,
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
        calls,
    )


def row_key(row: Any, votes: Iterable[Any]) -> str | None:
    """`window_key` of an evaluation row (ORM object or anything with its attributes) and
    its stored votes (objects with `judge`, `unscored`, `error`)."""
    calls = tally((v.judge, v.unscored, v.error) for v in votes)
    return window_key(row.status, row.outcome, row.verdict_value, row.verdict_source, calls)


def decode(key: str) -> tuple[list[dict[str, Any]], tuple[bool, Any], Calls]:
    """(judge entries as in an outcome, (human decided?, human value), calls) of a key."""
    data = json.loads(key)
    judges = []
    for entry in data.get("j", ()):
        judge: dict[str, Any] = {"judge": entry[0], "value": entry[1]}
        if len(entry) > 2:
            judge["consistent"], judge["first_position_won"] = entry[2], entry[3]
        judges.append(judge)
    return judges, ("h" in data, data.get("h")), data.get("c", {})
