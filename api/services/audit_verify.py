"""`quorum audit verify`: recompute the audit chain and compare every stored record with
the hash its latest event pinned, and each model's zone with its transitions.

Findings, each naming what it is about:
- `event-altered`: an event's content does not match its hash (an edited event row);
- `chain-broken`: an event's `prev_hash` is not the previous event's hash (an event
  inserted, deleted or rewritten with a recomputed hash);
- `events-missing`: a gap in the sequence numbers (deleted events);
- `record-changed`: a record differs from its latest event's hash (e.g. a direct SQL
  `UPDATE` of a decision or a verdict);
- `record-deleted`: a record is gone without a `deleted` (retention) event;
- `record-unrecorded`: a record no event mentions (inserted behind Quorum's back);
- `record-resurrected`: a record is back after its `deleted` event;
- for a model's zone (`model_zones`, which no event hashes: it is what its transitions
  made it), `record-changed` when it is not the last transition's target and time,
  `record-unrecorded` when no transition moved the model, `record-deleted` when the row
  is gone and the last transition moved the model out of `candidate`;
- `event-unreadable`, `record-unreadable`: a stored value its column cannot hold (JSON
  that does not parse, a time that is not a time, a number that is not a number, text
  that is not UTF-8), named by table, row and column; such a row is always a finding,
  whatever its age or the window, and the check goes on with the next.
Records older than the first event (written before the trail existed) are counted, not
flagged. With `since`, the chain is checked from the first event at or after it
(trusting the link to the event before), and only records whose latest event is in that
window, or that were created in it, are compared.

Rows are read as stored (`api.store.stored_rows`), never through the ORM, whose loading
of one tampered value would fail the whole page and end the verification in a traceback:
a verifier reads what it is given, and names what it cannot read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from api.services.lifecycle import CANDIDATE
from api.store.audit_log import GENESIS, event_hash
from api.store.digest import (
    calibration_digest,
    canonical_row,
    evaluation_digest,
    key_digest,
    review_digest,
    transition_digest,
)
from api.store.engine import SessionFactory
from api.store.stored_rows import StoredRow, StoredRows
from api.store.tables import ModelTransitionRow, ModelZoneRow

BATCH = 1000
AUDITED = ("evaluation", "review", "key", "calibration", "model")
"""Subject types whose records the trail pins (`model`: a model's transition)."""
NAMED = {"model": "transition"}
"""How findings name a record whose events' subject type says something else."""
Digest = Callable[[dict[str, Any], list[dict[str, Any]]], str]
"""A record's digest from its row's values and its parts' (votes, decisions)."""
UNHASHABLE = (TypeError, ValueError, OverflowError)
"""What hashing a row's values may raise when a value loaded but is still not what the
column held when Quorum wrote it."""


@dataclass(frozen=True)
class Finding:
    kind: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}: {self.detail}"


@dataclass(frozen=True)
class Latest:
    seq: int
    event: str
    record_sha256: str | None
    at: datetime | None
    """None when the event's time is unreadable."""


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    events: int = 0
    records: int = 0
    predating: int = 0
    """Records older than the first event (not covered by the trail)."""

    @property
    def ok(self) -> bool:
        return not self.findings


def _record_name(kind: str, subject_id: str) -> str:
    return f"{NAMED.get(kind, kind)} {subject_id}"


def _event_name(v: dict[str, Any]) -> str:
    return f"event #{v['seq']} ({v['event']} {v['subject_type']} {v['subject_id']})"


def _check_event(e: StoredRow, report: Report) -> None:
    """An event whose content is unreadable, or does not match its hash."""
    v = e.values
    if e.problems:
        detail = "; ".join(f"{e.table}.{p}" for p in e.problems)
        report.findings.append(Finding("event-unreadable", _event_name(v), detail))
        return
    try:
        altered = event_hash(v) != v["hash"]
    except UNHASHABLE as exc:
        report.findings.append(
            Finding("event-unreadable", _event_name(v), f"its content cannot be hashed: {exc}")
        )
        return
    if altered:
        report.findings.append(
            Finding("event-altered", _event_name(v), "its content does not match its hash")
        )


async def _chain(
    sessions: SessionFactory, since: datetime | None, report: Report
) -> tuple[dict[tuple[str, str], Latest], datetime | None]:
    """Walk the events in order; returns each audited subject's latest event and the time
    of the first event walked (the first readable one)."""
    latest: dict[tuple[str, str], Latest] = {}
    first_at: datetime | None = None
    seq = 0
    expected: tuple[int, str | None] | None = None
    while True:
        async with sessions() as session:
            rows = StoredRows(session)
            events = await rows.events(seq, BATCH, since=since if seq == 0 else None)
            if expected is None and events:
                start = int(events[0].key)
                before = await rows.event(start - 1) if start > 1 else None
                if since is None or start == 1:
                    expected = (1, GENESIS)
                elif before is None:
                    expected = (start, events[0].values["prev_hash"])
                    report.findings.append(
                        Finding("events-missing", f"event #{start - 1}", "not found")
                    )
                else:
                    expected = (start, before.values["hash"])
        if not events:
            return latest, first_at
        assert expected is not None
        for e in events:
            v = e.values
            report.events += 1
            first_at = first_at or v["at"]
            want_seq, want_prev = expected
            if e.key != want_seq:
                gap = f"events #{want_seq} to #{e.key - 1}" if e.key - 1 > want_seq else ""
                report.findings.append(
                    Finding("events-missing", gap or f"event #{want_seq}", "deleted from the chain")
                )
            _check_event(e, report)
            if v["prev_hash"] != want_prev:
                report.findings.append(
                    Finding(
                        "chain-broken",
                        _event_name(v),
                        "its prev_hash is not the hash of the event before it",
                    )
                )
            expected = (e.key + 1, v["hash"])
            if v["subject_type"] in AUDITED and v["subject_id"] is not None:
                key = (v["subject_type"], v["subject_id"])
                latest[key] = Latest(e.key, v["event"], v["record_sha256"], v["at"])
        seq = events[-1].key


def _unreadable(main: StoredRow, parts: Sequence[StoredRow]) -> list[str]:
    """What is wrong with a record's rows (its own, then those of its parts, each named
    by table and id), one line per row."""
    found = []
    if main.problems:
        found.append("; ".join(f"{main.table}.{p}" for p in main.problems))
    for part in parts:
        if part.problems:
            found.append(f"{part.table} #{part.ident('id')}: " + "; ".join(part.problems))
    return found


@dataclass
class _Records:
    """Compares stored records with the latest events that pinned them."""

    report: Report
    latest: dict[tuple[str, str], Latest]
    first_at: datetime | None
    since: datetime | None
    seen: set[tuple[str, str]] = field(default_factory=set)

    def compare(
        self,
        kind: str,
        row: StoredRow,
        parts: Sequence[StoredRow],
        digest: Digest,
    ) -> None:
        """Compare one record (its row and its parts' rows) with its latest event."""
        report = self.report
        subject_id = row.ident("id")
        key = (kind, subject_id)
        name = _record_name(kind, subject_id)
        last = self.latest.get(key)
        if last is not None:
            self.seen.add(key)
            report.records += 1
        problems = _unreadable(row, parts)
        stored: str | None = None
        if not problems:
            try:
                stored = digest(row.values, [p.values for p in parts])
            except UNHASHABLE as exc:  # loaded, and still not a value its column held
                problems = [f"{row.table}: its values cannot be hashed: {exc}"]
        for problem in problems:
            report.findings.append(Finding("record-unreadable", name, problem))
        if problems:
            return
        if last is None:
            created_at: datetime | None = row.values.get("created_at")
            if created_at is not None and self.since is not None and created_at < self.since:
                return  # outside the window checked
            if created_at is not None and (self.first_at is None or created_at < self.first_at):
                report.predating += 1
                return
            report.findings.append(Finding("record-unrecorded", name, "no audit event records it"))
            return
        if last.event == "deleted":
            report.findings.append(
                Finding(
                    "record-resurrected",
                    name,
                    f"present after its deletion (event #{last.seq})",
                )
            )
        elif last.record_sha256 != stored:
            at = f", {last.at.isoformat()}" if last.at is not None else ""
            report.findings.append(
                Finding(
                    "record-changed",
                    name,
                    f"differs from the record its last event (#{last.seq} {last.event}{at}) "
                    "hashed: changed outside Quorum",
                )
            )


def _canonical(model: type[ModelZoneRow | ModelTransitionRow], row: StoredRow) -> Any:
    """A readable row's values in canonical form (None when unreadable: named elsewhere)."""
    if row.problems:
        return None
    try:
        return canonical_row(model, row.values)
    except UNHASHABLE:
        return None


def _zone_name(scope: Any, model: Any) -> str:
    return f"zone {model}" + (f" (tenant {scope})" if scope else "")


def _check_zones(
    report: Report, transitions: Sequence[StoredRow], zones: Sequence[StoredRow]
) -> None:
    """Each model's zone against its transitions: the zone and time of the last one, or
    `candidate` (no row) for a model none moved. The zone drives the routing
    recommendation and no event hashes it, so this is how a zone set by hand is found.
    A model with a transition that cannot be read (a finding of its own) is not checked."""
    last: dict[tuple[Any, Any], dict[str, Any]] = {}
    canonical = [(t, _canonical(ModelTransitionRow, t)) for t in transitions]
    readable = [c for _, c in canonical if c is not None]
    unknown = {(t.values["scope"], t.values["model"]) for t, c in canonical if c is None}
    for t in sorted(readable, key=lambda c: (datetime.fromisoformat(c["created_at"]), c["id"])):
        last[(t["scope"], t["model"])] = t
    seen: set[tuple[Any, Any]] = set()
    for z in zones:
        key = (z.values["scope"], z.values["model"])
        seen.add(key)
        name = _zone_name(key[0], key[1] if key[1] is not None else f"#{z.ident('id')}")
        report.records += 1
        for problem in _unreadable(z, ()):
            report.findings.append(Finding("record-unreadable", name, problem))
        row = _canonical(ModelZoneRow, z)
        if row is None or key in unknown:
            continue
        moved = last.get(key)
        if moved is None:
            why = f"in {row['zone']}, and no transition moved it: changed outside Quorum"
            report.findings.append(Finding("record-unrecorded", name, why))
        elif (row["zone"], row["since"]) != (moved["to_zone"], moved["created_at"]):
            why = (
                f"in {row['zone']} since {row['since']}, but its last transition "
                f"({moved['id']}) moved it to {moved['to_zone']} at {moved['created_at']}: "
                "changed outside Quorum"
            )
            report.findings.append(Finding("record-changed", name, why))
    for key, moved in last.items():
        if key not in seen and key not in unknown and moved["to_zone"] != CANDIDATE:
            why = (
                f"gone (so a {CANDIDATE}), but its last transition ({moved['id']}) moved it "
                f"to {moved['to_zone']}"
            )
            report.findings.append(Finding("record-deleted", _zone_name(*key), why))


def _ids(rows: Sequence[StoredRow]) -> list[str]:
    return [r.values["id"] for r in rows if r.values["id"] is not None]


async def verify(sessions: SessionFactory, since: datetime | None = None) -> Report:
    """Check the chain and every audited record; `report.findings` lists what is wrong."""
    report = Report()
    latest, first_at = await _chain(sessions, since, report)
    records = _Records(report, latest, first_at, since)

    after: Any = None
    while True:
        async with sessions() as session:
            rows = StoredRows(session)
            evaluations = await rows.evaluations(after, BATCH)
            votes = await rows.votes(_ids(evaluations))
        if not evaluations:
            break
        for r in evaluations:
            records.compare("evaluation", r, votes.get(r.values["id"], []), evaluation_digest)
        after = evaluations[-1].key
    after = None
    while True:
        async with sessions() as session:
            rows = StoredRows(session)
            items = await rows.review_items(after, BATCH)
            decisions = await rows.decisions(_ids(items))
        if not items:
            break
        for i in items:
            records.compare("review", i, decisions.get(i.values["id"], []), review_digest)
        after = items[-1].key
    async with sessions() as session:
        rows = StoredRows(session)
        keys = await rows.keys()
        calibrations = await rows.calibrations()
        transitions = await rows.transitions()
        zones = await rows.zones()
    for k in keys:
        records.compare("key", k, (), lambda values, _: key_digest(values))
    for c in calibrations:
        records.compare("calibration", c, (), lambda values, _: calibration_digest(values))
    for t in transitions:
        records.compare("model", t, (), lambda values, _: transition_digest(values))
    _check_zones(report, transitions, zones)
    for (kind, subject_id), last in sorted(latest.items(), key=lambda kv: kv[1].seq):
        if (kind, subject_id) not in records.seen and last.event != "deleted":
            report.findings.append(
                Finding(
                    "record-deleted",
                    _record_name(kind, subject_id),
                    f"gone without a retention event (last event #{last.seq} {last.event})",
                )
            )
    return report
