"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api.deps import Sessions
from api.errors import Unavailable
from api.metrics import exposition
from api.problems import DATABASE_RETRY_S, problem, respond
from api.services.judge_checks import JudgeChecks
from api.store.engine import ping

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving."""
    return {"status": "ok"}


JUDGE_RETRY_S = 5


@router.get("/readyz", response_model=None)
async def readyz(request: Request, sessions: Sessions, panel: str | None = None) -> Any:
    """Ready when the config is loaded, the database answers and every panel (or only
    `panel`) had at least its quorum of judges up at the last judge check (cached: no
    judge is called here). A 503 names each panel not ready and the judges down."""
    config = getattr(request.app.state, "config", None)
    if config is None:
        return respond(Unavailable("configuration not loaded", DATABASE_RETRY_S), request)
    if panel is not None:
        config.panel(panel)  # 404 naming the configured panels
    try:
        await ping(sessions)
    except Exception as exc:
        unreachable = f"database unreachable: {type(exc).__name__}"
        return respond(Unavailable(unreachable, DATABASE_RETRY_S), request)
    checks: JudgeChecks | None = getattr(request.app.state, "judge_checks", None)
    # No config path or other detail: /readyz answers anyone, without a key.
    body: dict[str, Any] = {"status": "ready"}
    if checks is None:
        return JSONResponse(body)
    if not checks.checked:
        pending = Unavailable("the judges are being checked (start-up)", 1)
        return respond(pending, request)
    panels = checks.panels()
    if panel is not None:
        panels = {panel: panels[panel]}
    shown = {name: p.model_dump() for name, p in panels.items()}
    failing = [
        f"{name} ({p.judges_up} of {p.judges} judges up, quorum {p.quorum}: "
        + "; ".join(f"{j}: {why}" for j, why in p.down.items())
        + ")"
        for name, p in panels.items()
        if not p.ready
    ]
    if failing:
        detail = "panel(s) below their quorum of reachable judges: " + ", ".join(failing)
        return problem(
            503,
            "Judges unavailable",
            detail,
            slug="judges-unavailable",
            instance=request.url.path,
            headers={"Retry-After": str(JUDGE_RETRY_S)},
            panels=shown,
        )
    return JSONResponse({**body, "panels": shown})


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus text exposition (all workers' samples in multiprocess mode)."""
    body, content_type = exposition(request.app.state.metrics)
    return Response(body, media_type=content_type)
