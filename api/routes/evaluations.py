"""POST/GET evaluations and comparisons."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Service
from api.schemas import ComparisonCreate, EvaluationCreate, EvaluationPublic

router = APIRouter(prefix="/v1", tags=["evaluations"])


@router.post("/evaluations", response_model=EvaluationPublic)
async def create_evaluation(body: EvaluationCreate, service: Service) -> EvaluationPublic:
    """Judge one response on a pointwise panel and return the evaluation."""
    return await service.submit("evaluation", body)


@router.post("/comparisons", response_model=EvaluationPublic)
async def create_comparison(body: ComparisonCreate, service: Service) -> EvaluationPublic:
    """Compare two responses on a pairwise panel; each judge sees both orders."""
    return await service.submit("comparison", body)


@router.get("/evaluations/{evaluation_id}", response_model=EvaluationPublic)
async def get_evaluation(evaluation_id: str, service: Service) -> EvaluationPublic:
    """One evaluation with its votes, verdict, routing and any human verdict."""
    return await service.get(evaluation_id)
