"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api.deps import Sessions
from api.errors import Unavailable
from api.metrics import exposition
from api.problems import DATABASE_RETRY_S, respond
from api.store.engine import ping

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(request: Request, sessions: Sessions) -> Any:
    """Ready when the config is loaded and the database answers."""
    if getattr(request.app.state, "config", None) is None:
        return respond(Unavailable("configuration not loaded", DATABASE_RETRY_S), request)
    try:
        await ping(sessions)
    except Exception as exc:
        unreachable = f"database unreachable: {type(exc).__name__}"
        return respond(Unavailable(unreachable, DATABASE_RETRY_S), request)
    # No config path or other detail: /readyz answers anyone, without a key.
    return JSONResponse({"status": "ready"})


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus text exposition (all workers' samples in multiprocess mode)."""
    body, content_type = exposition(request.app.state.metrics)
    return Response(body, media_type=content_type)
