"""The audit trail over HTTP (admin)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from api.audit import export_lines
from api.auth import requires
from api.deps import Config, Sessions
from api.errors import InvalidInput

router = APIRouter(prefix="/v1/audit", tags=["audit"], dependencies=[Depends(requires("admin"))])


@router.get("/export", response_class=StreamingResponse)
async def export(
    config: Config,
    sessions: Sessions,
    since: datetime | None = None,
    until: datetime | None = None,
    panel: str | None = None,
) -> StreamingResponse:
    """Every evaluation created in [since, until) as JSONL: rubric id and version, each
    judge call's model, params, raw output, parsed vote and prompt hash, the verdict,
    routing reasons and human decisions. Defaults: the last 24 hours."""
    until = until or datetime.now(UTC)
    since = since or until - timedelta(days=1)
    since, until = (t if t.tzinfo else t.replace(tzinfo=UTC) for t in (since, until))
    if since >= until:
        raise InvalidInput("since must be before until")
    return StreamingResponse(
        export_lines(sessions, config, since, until, panel), media_type="application/x-ndjson"
    )
