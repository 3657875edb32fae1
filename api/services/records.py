"""From the request and the panel's verdict to the rows stored: the evaluation, its
outcome columns, its votes and its review item. Pure: no session, no I/O."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from typing import Any, Literal

from api.config import PanelConfig
from api.schemas import ComparisonCreate, EvaluationCreate
from api.store.tables import EvaluationRow, ReviewItemRow, utcnow
from judges import Vote
from routing import PanelVerdict
from rubrics import Rubric
from rubrics.redact import Redactor

Kind = Literal["evaluation", "comparison"]


def redacted(redactor: Redactor, value: object) -> object:
    """A judged field with every text in it redacted (a conversation's turns too)."""
    if isinstance(value, str):
        return redactor(value)
    if isinstance(value, list):
        return [redacted(redactor, v) for v in value]
    if isinstance(value, dict):
        return {k: v if k == "role" else redacted(redactor, v) for k, v in value.items()}
    return value


def audit_draw(evaluation_id: str) -> float:
    """A uniform number in [0, 1) fixed by the id, so audit sampling is reproducible."""
    return int(hashlib.sha256(evaluation_id.encode()).hexdigest()[:13], 16) / 16**13


def digest_exclude(request: Any) -> set[str]:
    """What a request's digest leaves out: its idempotency key, and `subject` and
    `use_case` when absent (a request from before they existed keeps its digest, so
    repeating it under its idempotency key still replays)."""
    return {"idempotency_key"} | {
        name for name in ("subject", "use_case") if getattr(request, name) is None
    }


def request_digest(kind: Kind, request: EvaluationCreate | ComparisonCreate) -> str:
    """The SHA-256 of the request's canonical JSON (without its idempotency key)."""
    body = {"kind": kind, **request.model_dump(mode="json", exclude=digest_exclude(request))}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def new_evaluation(
    kind: Kind,
    request: EvaluationCreate | ComparisonCreate,
    panel: PanelConfig,
    rubric: Rubric,
    fields: dict[str, str],
    digest: str,
    api_key_id: str | None,
    lease_until: datetime,
    tenant: str | None = None,
    assessment_id: str | None = None,
    guidance: str | None = None,
) -> EvaluationRow:
    """A new `pending` evaluation holding its lease."""
    now = utcnow()
    evaluation_id = uuid.uuid4().hex
    return EvaluationRow(
        id=evaluation_id,
        kind=kind,
        panel=panel.name,
        rubric_id=rubric.id,
        rubric_version=rubric.version,
        status="pending",
        input=fields,
        request_metadata=request.metadata,
        app=request.metadata.get("app"),
        subject_model=request.subject.model if request.subject else None,
        subject_version=request.subject.version if request.subject else None,
        use_case=request.use_case,
        idempotency_key=request.idempotency_key,
        request_sha256=digest,
        webhook_url=request.webhook_url,
        api_key_id=api_key_id,
        tenant=tenant,
        idempotency_tenant=tenant or "",
        assessment_id=assessment_id,
        guidance=guidance,
        audit_draw=audit_draw(evaluation_id),
        runs=1,
        lease_until=lease_until,
        created_at=now,
        updated_at=now,
    )


def outcome(verdict: PanelVerdict, jury_version: int | None = None) -> dict[str, Any]:
    """The columns a concluded evaluation sets; `jury_version`: the jury model version a
    `jury` panel judged with (0: the cold start), recorded in the outcome."""
    now = utcnow()
    return {
        "status": "in_review" if verdict.routing.decision == "human" else "decided",
        "verdict_value": verdict.value,
        "verdict_compliant": verdict.compliant,
        "verdict_source": "panel" if verdict.value is not None else None,
        "confidence": verdict.confidence,
        "agreement": verdict.agreement.model_dump(),
        "outcome": {
            "panel_value": verdict.value,
            "panel_compliant": verdict.compliant,
            "distribution": verdict.distribution,
            "judges": [j.model_dump(mode="json") for j in verdict.judges],
            "weights": verdict.weights,
            "questions": [q.model_dump(mode="json") for q in verdict.questions],
            **({"jury_version": jury_version} if jury_version is not None else {}),
        },
        "routing_decision": verdict.routing.decision,
        "routing_reasons": [r.model_dump(mode="json") for r in verdict.routing.reasons],
        "lease_until": None,
        "updated_at": now,
        "completed_at": now,
    }


def failure(reason: str) -> dict[str, Any]:
    """The columns an evaluation that could not be judged sets."""
    now = utcnow()
    return {
        "status": "failed",
        "error": reason,
        "lease_until": None,
        "updated_at": now,
        "completed_at": now,
    }


def review_item(
    row: EvaluationRow, panel: PanelConfig, verdict: PanelVerdict, now: datetime
) -> ReviewItemRow | None:
    """The review item of an evaluation routed to humans; None when auto-decided."""
    if verdict.routing.decision != "human":
        return None
    return ReviewItemRow(
        id=uuid.uuid4().hex,
        evaluation_id=row.id,
        panel=row.panel,
        tenant=row.tenant,
        status="pending",
        required_reviews=panel.reviewers,
        uncertainty=round(1 - verdict.confidence, 12),
        reasons=[r.code.value for r in verdict.routing.reasons],
        created_at=now,
        updated_at=now,
    )


def vote_values(
    evaluation_id: str, vote: Vote, params: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """A vote's row (every column but the id), for `EvaluationRepository.insert_votes`:
    the vote's own fields (`judges.Vote` is the one definition of a vote) plus where it
    belongs, the call's params and when it was stored."""
    values = vote.model_dump(mode="json")
    values.update(evaluation_id=evaluation_id, params=params, created_at=now)
    return values
