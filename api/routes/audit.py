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
    try:
        until = (until or datetime.now(UTC)).astimezone(UTC)
        since = (since or until - timedelta(days=1)).astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise InvalidInput(f"since/until out of range: {exc}") from exc
    if since >= until:
        raise InvalidInput("since must be before until")
    return StreamingResponse(
        export_lines(sessions, config, since, until, panel), media_type="application/x-ndjson"
    )
