"""The audit trail over HTTP (admin)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from api.auth import Principal, requires
from api.deps import Config, Sessions
from api.errors import Forbidden, InvalidInput
from api.head import is_head
from api.routes.filters import IsoDatetime, SubjectModel, UseCase
from api.services.audit import (
    check_event_reach,
    check_subject_filters,
    export_lines,
    record_exported,
)

router = APIRouter(prefix="/v1/audit", tags=["audit"])
Admin = Annotated[Principal, Depends(requires("admin"))]


@router.get("/export", response_class=StreamingResponse)
async def export(
    request: Request,
    config: Config,
    sessions: Sessions,
    caller: Admin,
    since: IsoDatetime | None = None,
    until: IsoDatetime | None = None,
    panel: str | None = None,
    subject_model: SubjectModel = None,
    use_case: UseCase = None,
    stream: Annotated[
        Literal["records", "events"],
        Query(description="records: one line per evaluation; events: the audit events"),
    ] = "records",
) -> StreamingResponse:
    """The audit trail of [since, until) as JSONL (defaults: the last 24 hours), of the
    key's tenant and panels (a key of every tenant also gets rows of no tenant).
    `stream=records`: every evaluation created in the window or with an audit event in it
    (a late human decision on an old item): rubric id and version, each judge call's
    model, params, raw output, parsed vote and prompt hash, the verdict, the panel verdict
    a human replaced, routing reasons, human decisions and the keys that submitted and
    decided, and the subject model and use case the request named (`subject_model=` and
    `use_case=` keep only those; records only). `stream=events`: the audit events of the
    window in chain order, each with its actor, before/after values, record hash and
    chain hashes (docs/security.md); a key of every tenant only."""
    if panel is not None and not caller.may_use(panel):
        raise Forbidden(f"this key may not use panel {panel!r}")
    try:
        until = (until or datetime.now(UTC)).astimezone(UTC)
        since = (since or until - timedelta(days=1)).astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise InvalidInput(f"since/until out of range: {exc}") from exc
    if since >= until:
        raise InvalidInput("since must be before until")
    check_subject_filters(stream, subject_model, use_case)
    if stream == "events":
        check_event_reach(caller.reach)
    if is_head(request):  # checked as a GET; no body is sent, so no `exported` event
        return Response(media_type="application/x-ndjson")  # type: ignore[return-value]
    await record_exported(
        sessions,
        caller.actor,
        since,
        until,
        panel,
        stream,
        subject_model=subject_model,
        use_case=use_case,
    )
    return StreamingResponse(
        export_lines(
            sessions,
            config,
            since,
            until,
            panel,
            reach=caller.reach,
            stream=stream,
            subject_model=subject_model,
            use_case=use_case,
        ),
        media_type="application/x-ndjson",
    )
