"""Calibrate a panel's confidence threshold (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.auth import Principal, requires
from api.deps import Config
from api.schemas import CalibrationPublic, CalibrationRequest, Page
from api.services.calibration import CalibrationService, public

router = APIRouter(prefix="/v1/panels", tags=["calibration"])
Admin = Annotated[Principal, Depends(requires("admin"))]


async def _service(request: Request) -> CalibrationService:
    return request.app.state.calibration


Calibrations = Annotated[CalibrationService, Depends(_service)]


@router.post("/{name}/calibration", response_model=CalibrationPublic)
async def calibrate_panel(
    name: str,
    body: CalibrationRequest,
    service: Calibrations,
    config: Config,
    caller: Admin,
) -> CalibrationPublic:
    """Choose the confidence threshold from human verdicts (fixed-sequence testing) so that
    auto-decided items agree with humans at rate >= 1 - alpha with probability >= 1 - delta,
    and store it. A dry run by default: `apply: true` puts it in force, and only when it is
    certified (otherwise the threshold in force stays, and `reviews_needed` says how many
    more agreeing human reviews certification needs). `reset: true` puts the configured
    threshold back in force: the undo. A panel the key may not use is 404. An alpha too
    small for any human-reviewed set to certify (`check_certifiable`) is 422 at `alpha`."""
    config.panel(name, caller.panels)
    if body.reset:
        return public(await service.reset(name, caller.actor))
    assert body.alpha is not None  # the model requires it without reset
    return public(await service.run(name, body.alpha, body.delta, body.apply, caller.actor))


@router.get("/{name}/calibration", response_model=Page[CalibrationPublic])
async def calibration_history(
    name: str, service: Calibrations, config: Config, caller: Admin
) -> Page[CalibrationPublic]:
    """Every calibration of the panel, newest first; the newest applied one is in force."""
    config.panel(name, caller.panels)
    rows = await service.history(name)
    data = [public(r) for r in rows]
    return Page(data=data, count=len(data))
