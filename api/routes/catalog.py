"""What is configured: panels and rubrics, as far as the key may use them (a key limited
to some panels sees those and their rubrics only; others are 404)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.auth import Principal, requires
from api.config import QuorumConfig
from api.deps import Config
from api.errors import NotFound
from api.schemas import Page, PanelPublic, RubricPublic
from api.services import present

router = APIRouter(prefix="/v1", tags=["catalog"])
Caller = Annotated[Principal, Depends(requires("evaluate"))]


def _rubrics(config: QuorumConfig, caller: Principal) -> list[str]:
    """The rubric ids the caller may see: all, or those of its panels."""
    if caller.panels is None:
        return list(config.rubrics)
    used = {p.rubric for p in config.panels.values() if caller.may_use(p.name)}
    return [r for r in config.rubrics if r in used]


@router.get("/panels", response_model=Page[PanelPublic])
async def list_panels(config: Config, caller: Caller) -> Page[PanelPublic]:
    data = [
        present.panel(p, config.rubrics[p.rubric], config.panel_judges(p))
        for p in config.panels.values()
        if caller.may_use(p.name)
    ]
    return Page(data=data, count=len(data))


@router.get("/panels/{name}", response_model=PanelPublic)
async def get_panel(name: str, config: Config, caller: Caller) -> PanelPublic:
    p, rubric = config.panel_rubric(name, caller.panels)
    return present.panel(p, rubric, config.panel_judges(p))


@router.get("/rubrics", response_model=Page[RubricPublic])
async def list_rubrics(config: Config, caller: Caller) -> Page[RubricPublic]:
    data = [present.rubric(config.rubrics[r]) for r in _rubrics(config, caller)]
    return Page(data=data, count=len(data))


@router.get("/rubrics/{rubric_id}", response_model=RubricPublic)
async def get_rubric(rubric_id: str, config: Config, caller: Caller) -> RubricPublic:
    if rubric_id not in _rubrics(config, caller):
        raise NotFound(f"no rubric with id {rubric_id!r}")
    return present.rubric(config.rubrics[rubric_id])
