"""POST/GET evaluations and comparisons."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.auth import Forbidden, Principal, requires
from api.deps import Service
from api.schemas import ComparisonCreate, EvaluationCreate, EvaluationPublic

router = APIRouter(prefix="/v1", tags=["evaluations"])
Caller = Annotated[Principal, Depends(requires("evaluate"))]


def check_panel(caller: Principal, panel: str) -> None:
    if not caller.may_use(panel):
        raise Forbidden(f"this key may not use panel {panel!r}")


@router.post("/evaluations", response_model=EvaluationPublic)
async def create_evaluation(
    body: EvaluationCreate, service: Service, caller: Caller
) -> EvaluationPublic:
    """Judge one response on a pointwise panel and return the evaluation."""
    check_panel(caller, body.panel)
    return await service.submit("evaluation", body)


@router.post("/comparisons", response_model=EvaluationPublic)
async def create_comparison(
    body: ComparisonCreate, service: Service, caller: Caller
) -> EvaluationPublic:
    """Compare two responses on a pairwise panel; each judge sees both orders."""
    check_panel(caller, body.panel)
    return await service.submit("comparison", body)


@router.get("/evaluations/{evaluation_id}", response_model=EvaluationPublic)
async def get_evaluation(evaluation_id: str, service: Service, caller: Caller) -> EvaluationPublic:
    """One evaluation with its votes, verdict, routing and any human verdict."""
    evaluation = await service.get(evaluation_id)
    check_panel(caller, evaluation.panel)
    return evaluation
