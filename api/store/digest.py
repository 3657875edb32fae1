"""Canonical JSON of stored records and its SHA-256: what an audit event pins.

A record is the rows that make up one subject: an evaluation with its votes, a review
item with its decisions, an API key, a calibration. Each row is reduced to its table's
columns with values in one canonical form per column type (UTC ISO times, floats as
floats, JSON round-tripped), so the digest of a row built in memory equals the digest of
the same row read back from SQLite or PostgreSQL. Columns that move without an auditable
change (an evaluation's judging lease, resume counter and window-count key) are left out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, Table
from sqlmodel import SQLModel

from api.store.tables import (
    ApiKeyRow,
    CalibrationRow,
    EvaluationRow,
    ModelTransitionRow,
    ReviewDecisionRow,
    ReviewItemRow,
    VoteRow,
)

Row = SQLModel | Mapping[str, Any]

SKIP: dict[str, frozenset[str]] = {
    "evaluations": frozenset({"lease_until", "runs", "updated_at", "window_key", "drift_read"}),
    "votes": frozenset({"id"}),
    "review_decisions": frozenset({"id"}),
}
"""Columns outside the record: leases and resume counters move without an event, row ids
are assigned by the database, `window_key` is the statistics' bookkeeping (set by the
start-up backfill of the window counts, with no event), and `drift_read` the drift
sweep's (set as it reads a final verdict)."""

LATER: dict[str, frozenset[str]] = {
    "evaluations": frozenset({"subject_model", "subject_version", "use_case"}),
}
"""Columns added after audit events pinned records (migration 0014): in the record only
when set, so the digest of a row stored before them (all null) is what it was."""


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def sha256_of(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def _time(value: Any) -> Any:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def _json_value(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)):
        return value
    return json.loads(json.dumps(value))


def _converter(column_type: Any) -> Callable[[Any], Any]:
    """The canonical form of one column type's values (None stays None)."""
    if isinstance(column_type, DateTime) or isinstance(
        getattr(column_type, "impl", None), DateTime
    ):
        return _time
    if isinstance(column_type, Boolean):
        return bool
    if isinstance(column_type, Float):
        return float
    if isinstance(column_type, Integer):
        return int
    if isinstance(column_type, JSON):
        return _json_value
    return str


@cache
def _columns(model: type[SQLModel]) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """The record's columns of a table, each with its canonical form."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    skip = SKIP.get(table.name, frozenset())
    return tuple((c.name, _converter(c.type)) for c in table.columns if c.name not in skip)


def canonical_row(model: type[SQLModel], row: Row) -> dict[str, Any]:
    """A row's columns (those in the record) in canonical form; a missing one is null."""
    get = row.get if isinstance(row, Mapping) else lambda name: getattr(row, name, None)
    table: Table = model.__table__  # type: ignore[attr-defined]
    later = LATER.get(table.name, frozenset())
    out: dict[str, Any] = {}
    for name, convert in _columns(model):
        value = get(name)
        if value is None and name in later:
            continue
        out[name] = None if value is None else convert(value)
    return out


def evaluation_record(row: Row, votes: Iterable[Row]) -> dict[str, Any]:
    """An evaluation and its votes (in the order they were stored)."""
    return {
        "evaluation": canonical_row(EvaluationRow, row),
        "votes": [canonical_row(VoteRow, v) for v in votes],
    }


def review_record(row: Row, decisions: Iterable[Row]) -> dict[str, Any]:
    """A review item and its decisions (in the order they were stored)."""
    return {
        "review": canonical_row(ReviewItemRow, row),
        "decisions": [canonical_row(ReviewDecisionRow, d) for d in decisions],
    }


def evaluation_digest(row: Row, votes: Iterable[Row]) -> str:
    return sha256_of(evaluation_record(row, votes))


def review_digest(row: Row, decisions: Iterable[Row]) -> str:
    return sha256_of(review_record(row, decisions))


def key_digest(row: Row) -> str:
    return sha256_of({"key": canonical_row(ApiKeyRow, row)})


def calibration_digest(row: Row) -> str:
    return sha256_of({"calibration": canonical_row(CalibrationRow, row)})


def transition_digest(row: Row) -> str:
    return sha256_of({"model_transition": canonical_row(ModelTransitionRow, row)})
