"""Calibrate a panel's confidence threshold (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.auth import Principal, requires
from api.schemas import CalibrationPublic, CalibrationRequest, Page
from api.services.calibration import CalibrationService
from api.store.audit_log import Actor

router = APIRouter(
    prefix="/v1/panels", tags=["calibration"], dependencies=[Depends(requires("admin"))]
)


async def _service(request: Request) -> CalibrationService:
    return request.app.state.calibration


Calibrations = Annotated[CalibrationService, Depends(_service)]


@router.post("/{name}/calibration", response_model=CalibrationPublic)
async def calibrate_panel(
    name: str, body: CalibrationRequest, service: Calibrations, request: Request
) -> CalibrationPublic:
    """Choose the confidence threshold from human verdicts (fixed-sequence testing) so that
    auto-decided items agree with humans at rate >= 1 - alpha with probability >= 1 - delta;
    store it, and put it in force when `apply`."""
    caller: Principal = request.state.principal
    actor = Actor(caller.key_id, caller.name)
    row = await service.run(name, body.alpha, body.delta, body.apply, actor)
    return CalibrationPublic.model_validate(row, from_attributes=True)


@router.get("/{name}/calibration", response_model=Page[CalibrationPublic])
async def calibration_history(name: str, service: Calibrations) -> Page[CalibrationPublic]:
    """Every calibration of the panel, newest first; the newest applied one is in force."""
    rows = await service.history(name)
    data = [CalibrationPublic.model_validate(r, from_attributes=True) for r in rows]
    return Page(data=data, count=len(data))
