"""`quorum audit verify`: recompute the audit chain and compare every stored record with
the hash its latest event pinned.

Findings, each naming what it is about:
- `event-altered`: an event's content does not match its hash (an edited event row);
- `chain-broken`: an event's `prev_hash` is not the previous event's hash (an event
  inserted, deleted or rewritten with a recomputed hash);
- `events-missing`: a gap in the sequence numbers (deleted events);
- `record-changed`: a record differs from its latest event's hash (e.g. a direct SQL
  `UPDATE` of a decision or a verdict);
- `record-deleted`: a record is gone without a `deleted` (retention) event;
- `record-unrecorded`: a record no event mentions (inserted behind Quorum's back);
- `record-resurrected`: a record is back after its `deleted` event.
Records older than the first event (written before the trail existed) are counted, not
flagged. With `since`, the chain is checked from the first event at or after it
(trusting the link to the event before), and only records whose latest event is in that
window, or that were created in it, are compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from api.store.audit import AuditRepository
from api.store.audit_log import GENESIS, event_hash
from api.store.digest import calibration_digest, evaluation_digest, key_digest, review_digest
from api.store.engine import SessionFactory

BATCH = 1000
AUDITED = ("evaluation", "review", "key", "calibration")
"""Subject types whose records the trail pins."""


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
    at: datetime


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


async def _chain(
    sessions: SessionFactory, since: datetime | None, report: Report
) -> tuple[dict[tuple[str, str], Latest], datetime | None]:
    """Walk the events in order; returns each audited subject's latest event and the time
    of the first event walked."""
    latest: dict[tuple[str, str], Latest] = {}
    first_at: datetime | None = None
    seq = 0
    expected: tuple[int, str] | None = None
    while True:
        async with sessions() as session:
            repo = AuditRepository(session)
            events = await repo.events(seq, BATCH, since=since if seq == 0 else None)
            if expected is None and events:
                start = events[0].seq
                before = await repo.event(start - 1) if start > 1 else None
                if since is None or start == 1:
                    expected = (1, GENESIS)
                elif before is None:
                    expected = (start, events[0].prev_hash)
                    report.findings.append(
                        Finding("events-missing", f"event #{start - 1}", "not found")
                    )
                else:
                    expected = (start, before.hash)
        if not events:
            return latest, first_at
        assert expected is not None
        for e in events:
            report.events += 1
            first_at = first_at or e.at
            want_seq, want_prev = expected
            if e.seq != want_seq:
                gap = f"events #{want_seq} to #{e.seq - 1}" if e.seq - 1 > want_seq else ""
                report.findings.append(
                    Finding("events-missing", gap or f"event #{want_seq}", "deleted from the chain")
                )
            if event_hash(e.model_dump()) != e.hash:
                report.findings.append(
                    Finding(
                        "event-altered",
                        f"event #{e.seq} ({e.event} {e.subject_type} {e.subject_id})",
                        "its content does not match its hash",
                    )
                )
            if e.prev_hash != want_prev:
                report.findings.append(
                    Finding(
                        "chain-broken",
                        f"event #{e.seq} ({e.event} {e.subject_type} {e.subject_id})",
                        "its prev_hash is not the hash of the event before it",
                    )
                )
            expected = (e.seq + 1, e.hash)
            if e.subject_type in AUDITED:
                key = (e.subject_type, e.subject_id)
                latest[key] = Latest(e.seq, e.event, e.record_sha256, e.at)
        seq = events[-1].seq


def _compare(
    report: Report,
    latest: dict[tuple[str, str], Latest],
    seen: set[tuple[str, str]],
    kind: str,
    subject_id: str,
    digest: str,
    created_at: datetime,
    first_at: datetime | None,
    since: datetime | None,
) -> None:
    key = (kind, subject_id)
    last = latest.get(key)
    if last is None:
        if since is not None and created_at < since:
            return  # outside the window checked
        if first_at is None or created_at < first_at:
            report.predating += 1
            return
        report.findings.append(
            Finding("record-unrecorded", f"{kind} {subject_id}", "no audit event records it")
        )
        return
    seen.add(key)
    report.records += 1
    if last.event == "deleted":
        report.findings.append(
            Finding(
                "record-resurrected",
                f"{kind} {subject_id}",
                f"present after its deletion (event #{last.seq})",
            )
        )
    elif last.record_sha256 != digest:
        report.findings.append(
            Finding(
                "record-changed",
                f"{kind} {subject_id}",
                f"differs from the record its last event (#{last.seq} {last.event}, "
                f"{last.at.isoformat()}) hashed: changed outside Quorum",
            )
        )


async def verify(sessions: SessionFactory, since: datetime | None = None) -> Report:
    """Check the chain and every audited record; `report.findings` lists what is wrong."""
    report = Report()
    latest, first_at = await _chain(sessions, since, report)
    seen: set[tuple[str, str]] = set()

    def compare(kind: str, subject_id: str, digest: str, created_at: datetime) -> None:
        _compare(report, latest, seen, kind, subject_id, digest, created_at, first_at, since)

    after: str | None = None
    while True:
        async with sessions() as session:
            repo = AuditRepository(session)
            rows = await repo.all_evaluations(after, BATCH)
            votes = await repo.votes([r.id for r in rows])
        if not rows:
            break
        for r in rows:
            compare("evaluation", r.id, evaluation_digest(r, votes.get(r.id, [])), r.created_at)
        after = rows[-1].id
    after = None
    while True:
        async with sessions() as session:
            repo = AuditRepository(session)
            items = await repo.all_review_items(after, BATCH)
            decisions = await repo.decisions_of_items([i.id for i in items])
        if not items:
            break
        for i in items:
            compare("review", i.id, review_digest(i, decisions.get(i.id, [])), i.created_at)
        after = items[-1].id
    async with sessions() as session:
        repo = AuditRepository(session)
        keys = await repo.keys()
        calibrations = await repo.calibrations()
    for k in keys:
        compare("key", k.id, key_digest(k), k.created_at)
    for c in calibrations:
        compare("calibration", c.id, calibration_digest(c), c.created_at)
    for (kind, subject_id), last in sorted(latest.items(), key=lambda kv: kv[1].seq):
        if (kind, subject_id) not in seen and last.event != "deleted":
            report.findings.append(
                Finding(
                    "record-deleted",
                    f"{kind} {subject_id}",
                    f"gone without a retention event (last event #{last.seq} {last.event})",
                )
            )
    return report
