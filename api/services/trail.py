"""The audit events of judging: `submitted`, `judged` (with `routed` when the item goes
to humans) and `failed`, appended in the transaction that makes the change
(`api.store.audit_log`). The events hold no judged text: the record's hash pins it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from api.store import AsyncSession
from api.store.audit_log import WORKER, Actor, AuditLog
from api.store.digest import Row, evaluation_digest, review_digest
from api.store.tables import EvaluationRow, ReviewItemRow


def _submitted(row: EvaluationRow) -> dict[str, Any]:
    return {
        "panel": row.panel,
        "kind": row.kind,
        "rubric": {"id": row.rubric_id, "version": row.rubric_version},
        "api_key_id": row.api_key_id,
        "request_sha256": row.request_sha256,
        "idempotency_key": row.idempotency_key,
        **(
            {"subject_model": row.subject_model, "subject_version": row.subject_version}
            if row.subject_model
            else {}
        ),
        **({"use_case": row.use_case} if row.use_case else {}),
    }


def _judged(row: EvaluationRow) -> dict[str, Any]:
    """The panel's verdict and routing."""
    return {
        "status": row.status,
        "verdict": {"value": row.verdict_value, "compliant": row.verdict_compliant},
        "confidence": row.confidence,
        "routing": row.routing_decision,
        "reasons": [r.get("code") for r in row.routing_reasons or []],
    }


async def submitted(session: AsyncSession, actor: Actor, row: EvaluationRow) -> None:
    """A request was accepted and stored (`row`, just inserted)."""
    await AuditLog(session).append(
        "submitted",
        actor,
        "evaluation",
        row.id,
        record_sha256=evaluation_digest(row, []),
        after=_submitted(row),
        evaluation_id=row.id,
        panel=row.panel,
    )


async def judged(
    session: AsyncSession, row: EvaluationRow, votes: Sequence[Row], review: ReviewItemRow | None
) -> None:
    """The panel concluded (`row` holds the outcome, `votes` were stored), and the item
    went to humans when `review` is set."""
    audit = AuditLog(session)
    await audit.append(
        "judged",
        WORKER,
        "evaluation",
        row.id,
        record_sha256=evaluation_digest(row, votes),
        before={"status": "pending"},
        after=_judged(row),
        evaluation_id=row.id,
        panel=row.panel,
    )
    if review is not None:
        await audit.append(
            "routed",
            WORKER,
            "review",
            review.id,
            record_sha256=review_digest(review, []),
            after={
                "panel": review.panel,
                "reasons": review.reasons,
                "required_reviews": review.required_reviews,
            },
            evaluation_id=row.id,
            panel=row.panel,
        )


async def failed(
    session: AsyncSession, row: EvaluationRow, votes: Sequence[Row], reason: str
) -> None:
    """It could not be judged (`row` as now stored)."""
    await AuditLog(session).append(
        "failed",
        WORKER,
        "evaluation",
        row.id,
        record_sha256=evaluation_digest(row, votes),
        before={"status": "pending"},
        after={"status": "failed", "error": reason},
        evaluation_id=row.id,
        panel=row.panel,
    )
