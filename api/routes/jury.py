"""The jury model of a panel: the model in force, and a refit on demand (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.auth import Principal, requires
from api.deps import Config, Jury
from api.errors import InvalidInput
from api.schemas import JuryPublic
from routing import Aggregation

router = APIRouter(prefix="/v1/panels", tags=["jury"])
Admin = Annotated[Principal, Depends(requires("admin"))]


def _jury_panel(name: str, config: Config, caller: Principal) -> None:
    """404 for a panel the key may not use; 422 for one not aggregated by the jury."""
    if config.panel(name, caller.panels).aggregation is not Aggregation.JURY:
        raise InvalidInput(f"panel {name!r} is not aggregated by the jury model")


@router.get("/{name}/jury", response_model=JuryPublic)
async def get_jury(name: str, config: Config, jury: Jury, caller: Admin) -> JuryPublic:
    """The jury model in force: per judge and presentation order, its accuracy (with a
    95% interval) and confusion matrix; version 0 is the cold start (priors only)."""
    _jury_panel(name, config, caller)
    return jury.public(name)


@router.post("/{name}/jury/refit", response_model=JuryPublic)
async def refit_jury(name: str, config: Config, jury: Jury, caller: Admin) -> JuryPublic:
    """Fit the panel's jury model now on its stored votes and human verdicts, store it as a
    new version and put it in force on this replica (the others load it within
    QUORUM_JURY_CHECK_S)."""
    _jury_panel(name, config, caller)
    await jury.refit(name, reason="admin")
    return jury.public(name)
