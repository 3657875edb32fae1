"""POST/GET evaluations and comparisons."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse

from api.auth import Principal, requires
from api.deps import Reviews, Service
from api.errors import Forbidden
from api.routes.batch import wants_async
from api.routes.filters import IsoDatetime, SubjectModel, UseCase
from api.schemas import (
    ComparisonCreate,
    EvaluationCreate,
    EvaluationFilters,
    EvaluationPublic,
    Page,
)
from api.services.evaluator import EvaluationService
from api.services.records import Kind

router = APIRouter(prefix="/v1", tags=["evaluations"])
Caller = Annotated[Principal, Depends(requires("evaluate"))]


def check_panel(caller: Principal, panel: str) -> None:
    if not caller.may_use(panel):
        raise Forbidden(f"this key may not use panel {panel!r}")


ASYNC: dict[int | str, dict[str, Any]] = {
    202: {"description": "Accepted (Prefer: respond-async): poll the Location"}
}


def _accepted(evaluation: EvaluationPublic, applied: bool = True) -> JSONResponse:
    """202 with the Location to poll; `applied`: because the caller asked for it."""
    headers = {"Location": f"/v1/evaluations/{evaluation.id}"}
    if applied:
        headers["Preference-Applied"] = "respond-async"
    return JSONResponse(evaluation.model_dump(mode="json"), status_code=202, headers=headers)


async def _submit(
    kind: Kind,
    body: EvaluationCreate | ComparisonCreate,
    service: EvaluationService,
    caller: Principal,
    prefer: str | None,
) -> EvaluationPublic | JSONResponse:
    """Submit for the caller (its panel checked): judged now, or 202 with
    `Prefer: respond-async`, or 202 when a replayed idempotency key's evaluation is still
    pending after waiting for it (its first request's replica died, say)."""
    check_panel(caller, body.panel)
    background = wants_async(prefer)
    evaluation = await service.submit(
        kind,
        body,
        wait=not background,
        api_key_id=caller.key_id,
        tenant=caller.tenant,
        actor=caller.actor,
    )
    if background or evaluation.status == "pending":
        return _accepted(evaluation, applied=background)
    return evaluation


@router.post("/evaluations", response_model=EvaluationPublic, responses=ASYNC)
async def create_evaluation(
    body: EvaluationCreate,
    service: Service,
    caller: Caller,
    prefer: Annotated[str | None, Header()] = None,
) -> EvaluationPublic | JSONResponse:
    """Judge one response on a pointwise panel and return the evaluation. With
    `Prefer: respond-async`: 202 at once, the evaluation `pending`, judged in the background."""
    return await _submit("evaluation", body, service, caller, prefer)


@router.post("/comparisons", response_model=EvaluationPublic, responses=ASYNC)
async def create_comparison(
    body: ComparisonCreate,
    service: Service,
    caller: Caller,
    prefer: Annotated[str | None, Header()] = None,
) -> EvaluationPublic | JSONResponse:
    """Compare two responses on a pairwise panel; each judge sees both orders."""
    return await _submit("comparison", body, service, caller, prefer)


@router.get("/evaluations", response_model=Page[EvaluationPublic])
async def list_evaluations(
    service: Service,
    reviews: Reviews,
    caller: Caller,
    panel: str | None = None,
    status: Annotated[Literal["pending", "decided", "in_review", "failed"] | None, Query()] = None,
    subject_model: SubjectModel = None,
    use_case: UseCase = None,
    since: Annotated[IsoDatetime | None, Query(description="created at or after")] = None,
    until: Annotated[IsoDatetime | None, Query(description="created before")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Page[EvaluationPublic]:
    """The evaluations of the key's tenant and panels, newest first, narrowed by every
    filter given (`count`: how many match in all). Filters never widen what the key sees:
    another tenant's evaluations are never listed. Read blind like `GET
    /v1/evaluations/{id}` where the caller reviews them blind."""
    if panel is not None:
        check_panel(caller, panel)
    filters = EvaluationFilters(
        panel=panel,
        status=status,
        subject_model=subject_model,
        use_case=use_case,
        since=since,
        until=until,
    )
    items, total = await service.list(caller.reach, filters, limit, offset)
    return Page(data=[await reviews.shield(e, caller) for e in items], count=total)


@router.get("/evaluations/{evaluation_id}", response_model=EvaluationPublic)
async def get_evaluation(
    evaluation_id: str, service: Service, reviews: Reviews, caller: Caller
) -> EvaluationPublic:
    """One evaluation with its votes, verdict, routing and any human verdict. Another
    tenant's evaluation, or one on a panel the key may not use, is 404. A key that also
    reviews (and is not an admin) reads an item awaiting its blind review blind."""
    evaluation = await service.get(evaluation_id, caller.reach)
    return await reviews.shield(evaluation, caller)
