"""The audit trail: export evaluations and events as JSONL, and delete what is past
retention (recording what went).

Two streams, both filtered by event time: `records` (the default), one line per
evaluation created in the window or with an audit event in it (so a late human decision
on an old item is in the export of the window where it happened), and `events`, the
audit events of the window in chain order with their hashes (`api.store.audit_log`), to
check with the chain or ship to an external store. Each export is itself an `exported`
event.

Record lines: The top-level fields are the dataset format of `quorum
backtest` (dataset = panel, item, mode, scale, input, votes, human), so an export of one
panel replays offline as it is; `audit` holds the rest of the record: rubric id and
version, each call's model, params, raw output, parsed vote and prompt hash, the verdict,
the routing reasons, and every human decision with reviewer and time.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from api.config import QuorumConfig
from api.errors import Forbidden, InvalidInput
from api.store import EVERYTHING, Reach
from api.store.audit import AuditRepository
from api.store.audit_log import SYSTEM, Actor, AuditLog
from api.store.digest import evaluation_digest, review_digest
from api.store.engine import SessionFactory
from api.store.tables import (
    AuditEventRow,
    EvaluationRow,
    ReviewDecisionRow,
    ReviewItemRow,
    VoteRow,
    utcnow,
)
from judges.record import (
    ActorRecord,
    AuditRecord,
    DecisionRecord,
    ItemRecord,
    ReviewRecord,
    RoutingRecord,
    RubricRef,
    SubjectRecord,
    VerdictRecord,
    VoteRecord,
)
from rubrics import Mode

BATCH = 500
Stream = Literal["records", "events"]


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts else None


def record(
    row: EvaluationRow,
    votes: list[VoteRow],
    review: ReviewItemRow | None,
    decisions: list[ReviewDecisionRow],
    config: QuorumConfig,
    key_names: Mapping[str, str] | None = None,
    deciders: Mapping[tuple[str, str], ActorRecord] | None = None,
) -> dict[str, Any]:
    """One evaluation as an export line (a dict ready for json.dumps), built as the
    `judges.record.ItemRecord` the backtest loads. `key_names` names the keys by id;
    `deciders` gives the key behind each (reviewer, stage) decision."""
    rubric = config.rubrics.get(row.rubric_id)
    names = key_names or {}
    by = deciders or {}
    review_record = None
    if review is not None:
        review_record = ReviewRecord(
            id=review.id,
            status=review.status,
            stage=review.stage,
            final_value=review.final_value,
            decided_at=_iso(review.decided_at),
            decisions=tuple(
                DecisionRecord(
                    reviewer=d.reviewer,
                    stage=d.stage,
                    value=d.value,
                    comment=d.comment,
                    shown_order=d.shown_order,
                    created_at=_iso(d.created_at),
                    decided_by=by.get((d.reviewer, d.stage)),
                )
                for d in decisions
            ),
        )
    return ItemRecord(
        dataset=row.panel,
        item=row.id,
        mode=rubric.mode
        if rubric
        else (Mode.PAIRWISE if row.kind == "comparison" else Mode.POINTWISE),
        scale=rubric.scale if rubric else None,
        **({"questions": rubric.questions} if rubric and rubric.mode is Mode.CHECKLIST else {}),
        input=row.input,
        votes=tuple(
            VoteRecord(
                judge=v.judge,
                order=v.order,
                value=v.value,
                unscored=v.unscored or v.error,
                model=v.model,
                params=v.params,
                reversed_scale=v.reversed_scale,
                shown_value=v.shown_value,
                raw_output=v.raw_output,
                rationale=v.rationale,
                detail=v.detail,
                prompt_sha256=v.prompt_sha256,
                latency_ms=v.latency_ms,
                attempts=v.attempts,
                prompt_tokens=v.prompt_tokens,
                completion_tokens=v.completion_tokens,
                cost_usd=v.cost_usd,
                distribution=v.distribution,
                **(
                    {"answers": v.answers, "question_order": v.question_order}
                    if v.answers is not None or v.question_order is not None
                    else {}
                ),
                created_at=_iso(v.created_at),
            )
            for v in votes
        ),
        human=(row.verdict_value,) if row.verdict_source == "human" else (),
        label_kind="human",
        meta={"app": row.app},
        audit=AuditRecord(
            rubric=RubricRef(id=row.rubric_id, version=row.rubric_version),
            status=row.status,
            verdict=VerdictRecord(
                value=row.verdict_value,
                compliant=row.verdict_compliant,
                source=row.verdict_source,
            ),
            panel_verdict=_panel_verdict(row),
            submitted_by=(
                ActorRecord(key_id=row.api_key_id, name=names.get(row.api_key_id))
                if row.api_key_id
                else None
            ),
            confidence=row.confidence,
            agreement=row.agreement,
            routing=RoutingRecord(decision=row.routing_decision, reasons=row.routing_reasons),
            metadata=row.request_metadata,
            subject=(
                SubjectRecord(model=row.subject_model, version=row.subject_version)
                if row.subject_model
                else None
            ),
            use_case=row.use_case,
            assessment_id=row.assessment_id,
            idempotency_key=row.idempotency_key,
            error=row.error,
            created_at=_iso(row.created_at),
            completed_at=_iso(row.completed_at),
            review=review_record,
        ),
    ).dump()


def _panel_verdict(row: EvaluationRow) -> VerdictRecord | None:
    """The panel's verdict as it concluded, when a human verdict is now in force."""
    if row.verdict_source != "human" or not row.outcome:
        return None
    return VerdictRecord(
        value=row.outcome.get("panel_value"),
        compliant=row.outcome.get("panel_compliant"),
        source="panel",
    )


def event_line(e: AuditEventRow) -> dict[str, Any]:
    """One audit event as an export line, every field its hash covers plus the hash."""
    values = e.model_dump()
    values["at"] = _iso(e.at)
    return values


async def record_exported(
    sessions: SessionFactory,
    actor: Actor,
    since: datetime,
    until: datetime,
    panel: str | None,
    stream: Stream,
    *,
    subject_model: str | None = None,
    use_case: str | None = None,
) -> None:
    """The `exported` event: who exported which window (committed before streaming)."""
    async with sessions() as session:
        await AuditLog(session).append(
            "exported",
            actor,
            "export",
            uuid.uuid4().hex,
            after={
                "since": since.isoformat(),
                "until": until.isoformat(),
                "panel": panel,
                "stream": stream,
                **({"subject_model": subject_model} if subject_model is not None else {}),
                **({"use_case": use_case} if use_case is not None else {}),
            },
            panel=panel,
        )
        await session.commit()


async def export_lines(
    sessions: SessionFactory,
    config: QuorumConfig,
    since: datetime,
    until: datetime,
    panel: str | None = None,
    *,
    reach: Reach = EVERYTHING,
    stream: Stream = "records",
    subject_model: str | None = None,
    use_case: str | None = None,
) -> AsyncIterator[str]:
    """JSONL lines of the window [since, until) that `reach` (the caller's tenant and
    panels) sees, in batches: evaluations oldest first (`records`, only those of
    `subject_model` and `use_case` when given), or audit events in chain order
    (`events`; the subject filters do not apply, `check_subject_filters`)."""
    check_subject_filters(stream, subject_model, use_case)
    if stream == "events":
        async for event in _event_lines(sessions, since, until, panel, reach):
            yield event
        return
    after: tuple[datetime, str] | None = None
    while True:
        async with sessions() as session:
            repo = AuditRepository(session)
            rows = await repo.evaluations(
                since,
                until,
                panel,
                after,
                BATCH,
                reach,
                subject_model=subject_model,
                use_case=use_case,
            )
            if not rows:
                return
            ids = [r.id for r in rows]
            votes = await repo.votes(ids)
            reviews = await repo.review_items(ids)
            decisions = await repo.decisions(ids)
            names = await repo.key_names(sorted({r.api_key_id for r in rows if r.api_key_id}))
            deciders: dict[str, dict[tuple[str, str], ActorRecord]] = {}
            for e in await repo.decided_events(ids):
                done = e.after or {}
                deciders.setdefault(e.evaluation_id or "", {})[
                    (str(done.get("reviewer")), str(done.get("stage")))
                ] = ActorRecord(key_id=e.actor_key_id, name=e.actor)
        for r in rows:
            line = record(
                r,
                votes.get(r.id, []),
                reviews.get(r.id),
                decisions.get(r.id, []),
                config,
                names,
                deciders.get(r.id),
            )
            yield json.dumps(line, ensure_ascii=False, default=str) + "\n"
        last = rows[-1]
        after = (last.created_at, last.id)


def check_subject_filters(stream: Stream, subject_model: str | None, use_case: str | None) -> None:
    """`InvalidInput` for a subject filter on the events stream: events carry no subject
    (an export that ignored the filter would hand over more than was asked for)."""
    if stream == "events" and (subject_model is not None or use_case is not None):
        raise InvalidInput("subject_model and use_case filter stream=records only")


def check_event_reach(reach: Reach) -> None:
    """`Forbidden` unless `reach` sees every tenant: the event chain spans them all. Checked
    before an export starts streaming (an error cannot be answered once it has)."""
    if reach.tenant is not None:
        raise Forbidden(
            "the audit event chain spans every tenant: export it with an admin key for "
            "every tenant (`quorum keys create --tenant '*'`), or export `records`"
        )


async def _event_lines(
    sessions: SessionFactory,
    since: datetime,
    until: datetime,
    panel: str | None,
    reach: Reach = EVERYTHING,
) -> AsyncIterator[str]:
    """The chain spans every tenant (each event's hash links the previous one, whoever's
    it was): only a key that sees every tenant may export it; a key limited to some
    panels gets those panels' events only."""
    check_event_reach(reach)
    if reach.panels is not None and panel is not None and panel not in reach.panels:
        return
    seq = 0
    while True:
        async with sessions() as session:
            events = await AuditRepository(session).events(seq, BATCH, since, until, panel)
        if not events:
            return
        for e in events:
            if reach.panels is not None and e.panel is not None and e.panel not in reach.panels:
                continue
            yield json.dumps(event_line(e), ensure_ascii=False, default=str) + "\n"
        seq = events[-1].seq


async def _delete_batch(
    repo: AuditRepository, audit: AuditLog, rows: Sequence[EvaluationRow]
) -> int:
    """Record a `deleted` event (with the record's hash as it went) for each evaluation
    and review item of `rows`, then delete them."""
    ids = [r.id for r in rows]
    votes = await repo.votes(ids)
    reviews = await repo.review_items(ids)
    decisions = await repo.decisions(ids)
    for r in rows:
        digest = evaluation_digest(r, votes.get(r.id, []))
        before = {"status": r.status, "created_at": _iso(r.created_at)}
        await audit.append(
            "deleted",
            SYSTEM,
            "evaluation",
            r.id,
            record_sha256=digest,
            before=before,
            after={"reason": "retention"},
            evaluation_id=r.id,
            panel=r.panel,
        )
        item = reviews.get(r.id)
        if item is not None:
            await audit.append(
                "deleted",
                SYSTEM,
                "review",
                item.id,
                record_sha256=review_digest(item, decisions.get(r.id, [])),
                before={"status": item.status},
                after={"reason": "retention"},
                evaluation_id=r.id,
                panel=r.panel,
            )
    return await repo.delete_evaluations(ids)


async def apply_retention(sessions: SessionFactory, days: int, now: datetime | None = None) -> int:
    """Delete evaluations (with their votes, review items and decisions) older than `days`
    before `now`, a batch per transaction, each deletion recorded in the audit trail with
    what went."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    gone = 0
    while True:
        async with sessions() as session:
            repo = AuditRepository(session)
            rows = await repo.older_than(cutoff, BATCH)
            if not rows:
                return gone
            gone += await _delete_batch(repo, AuditLog(session), rows)
            await session.commit()
