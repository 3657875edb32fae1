"""The audit trail: export evaluations as JSONL, and delete what is past retention.

One line per evaluation. The top-level fields are the dataset format of `quorum
backtest` (dataset = panel, item, mode, scale, input, votes, human), so an export of one
panel replays offline as it is; `audit` holds the rest of the record: rubric id and
version, each call's model, params, raw output, parsed vote and prompt hash, the verdict,
the routing reasons, and every human decision with reviewer and time.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from api.config import QuorumConfig
from api.store.audit import AuditRepository
from api.store.engine import SessionFactory
from api.store.tables import EvaluationRow, ReviewDecisionRow, ReviewItemRow, VoteRow, utcnow
from judges.record import (
    AuditRecord,
    DecisionRecord,
    ItemRecord,
    ReviewRecord,
    RoutingRecord,
    RubricRef,
    VerdictRecord,
    VoteRecord,
)
from rubrics import Mode

BATCH = 500


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts else None


def record(
    row: EvaluationRow,
    votes: list[VoteRow],
    review: ReviewItemRow | None,
    decisions: list[ReviewDecisionRow],
    config: QuorumConfig,
) -> dict[str, Any]:
    """One evaluation as an export line (a dict ready for json.dumps), built as the
    `judges.record.ItemRecord` the backtest loads."""
    rubric = config.rubrics.get(row.rubric_id)
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
                    created_at=_iso(d.created_at),
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
            confidence=row.confidence,
            agreement=row.agreement,
            routing=RoutingRecord(decision=row.routing_decision, reasons=row.routing_reasons),
            metadata=row.request_metadata,
            idempotency_key=row.idempotency_key,
            error=row.error,
            created_at=_iso(row.created_at),
            completed_at=_iso(row.completed_at),
            review=review_record,
        ),
    ).dump()


async def export_lines(
    sessions: SessionFactory,
    config: QuorumConfig,
    since: datetime,
    until: datetime,
    panel: str | None = None,
) -> AsyncIterator[str]:
    """JSONL lines for evaluations created in [since, until), oldest first, in batches."""
    after: tuple[datetime, str] | None = None
    while True:
        async with sessions() as session:
            repo = AuditRepository(session)
            rows = await repo.evaluations(since, until, panel, after, BATCH)
            if not rows:
                return
            ids = [r.id for r in rows]
            votes = await repo.votes(ids)
            reviews = await repo.review_items(ids)
            decisions = await repo.decisions(ids)
        for r in rows:
            line = record(
                r, votes.get(r.id, []), reviews.get(r.id), decisions.get(r.id, []), config
            )
            yield json.dumps(line, ensure_ascii=False, default=str) + "\n"
        last = rows[-1]
        after = (last.created_at, last.id)


async def apply_retention(sessions: SessionFactory, days: int) -> int:
    """Delete evaluations (with their votes, review items and decisions) older than `days`."""
    async with sessions() as session:
        gone = await AuditRepository(session).delete_before(utcnow() - timedelta(days=days))
        await session.commit()
        return gone
