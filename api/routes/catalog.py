"""What is configured: panels and rubrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.auth import requires
from api.deps import Config
from api.errors import NotFound
from api.schemas import Page, PanelPublic, RubricPublic
from api.services import present

router = APIRouter(prefix="/v1", tags=["catalog"], dependencies=[Depends(requires("evaluate"))])


@router.get("/panels", response_model=Page[PanelPublic])
async def list_panels(config: Config) -> Page[PanelPublic]:
    data = [
        present.panel(p, config.rubrics[p.rubric], config.panel_judges(p))
        for p in config.panels.values()
    ]
    return Page(data=data, count=len(data))


@router.get("/panels/{name}", response_model=PanelPublic)
async def get_panel(name: str, config: Config) -> PanelPublic:
    p, rubric = config.panel_rubric(name)
    return present.panel(p, rubric, config.panel_judges(p))


@router.get("/rubrics", response_model=Page[RubricPublic])
async def list_rubrics(config: Config) -> Page[RubricPublic]:
    data = [present.rubric(r) for r in config.rubrics.values()]
    return Page(data=data, count=len(data))


@router.get("/rubrics/{rubric_id}", response_model=RubricPublic)
async def get_rubric(rubric_id: str, config: Config) -> RubricPublic:
    r = config.rubrics.get(rubric_id)
    if r is None:
        raise NotFound(f"no rubric with id {rubric_id!r}")
    return present.rubric(r)
