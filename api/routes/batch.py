"""POST /v1/evaluations/batch: many items, judged concurrently, answered in order."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from api import problems
from api.auth import Principal, requires
from api.deps import Service
from api.errors import Forbidden, InvalidRequest, PayloadTooLarge, QuorumError
from api.schemas import BatchCreate, BatchResult, ComparisonCreate, EvaluationCreate, Page

router = APIRouter(prefix="/v1", tags=["evaluations"])
Caller = Annotated[Principal, Depends(requires("evaluate"))]


def wants_async(prefer: str | None) -> bool:
    """RFC 7240: `Prefer: respond-async`, among other preferences and with or without
    parameters of its own (`respond-async; wait=5`)."""
    return prefer is not None and any(
        p.split(";", 1)[0].strip().lower() == "respond-async" for p in prefer.split(",")
    )


@router.post(
    "/evaluations/batch",
    response_model=Page[BatchResult],
    responses={202: {"description": "Accepted: judged in the background (Prefer: respond-async)"}},
)
async def create_batch(
    body: BatchCreate,
    request: Request,
    service: Service,
    caller: Caller,
    prefer: Annotated[str | None, Header()] = None,
) -> Page[BatchResult] | JSONResponse:
    """Judge many items concurrently (bounded by the service-wide concurrency limit).
    Results come back in request order; a bad item gets its own problem details and does
    not fail the batch. With `Prefer: respond-async` the answer is 202 with every item
    stored as `pending`; poll GET /v1/evaluations/{id}."""
    limit = request.app.state.settings.batch_max_items
    if len(body.items) > limit:
        raise PayloadTooLarge(f"a batch holds at most {limit} items; got {len(body.items)}")
    request.app.state.auth.charge(caller, len(body.items) - 1)  # the rate counts items
    background = wants_async(prefer)
    if len(body.items) > service.admission.capacity:
        raise PayloadTooLarge(
            f"this server holds at most {service.admission.capacity} evaluations at once "
            f"(QUORUM_MAX_CONCURRENT_EVALUATIONS + QUORUM_MAX_QUEUED_EVALUATIONS); "
            f"split the batch of {len(body.items)}"
        )

    async def one(index: int, raw: dict[str, Any]) -> BatchResult:
        kind = raw.get("kind", "evaluation")
        model = ComparisonCreate if kind == "comparison" else EvaluationCreate
        try:
            if kind not in ("evaluation", "comparison"):
                message = f"kind must be 'evaluation' or 'comparison', got {kind!r}"
                raise InvalidRequest([{"location": "kind", "message": message}], message)
            try:
                item = model.model_validate({k: v for k, v in raw.items() if k != "kind"})
            except ValidationError as exc:
                raise InvalidRequest.from_pydantic(exc.errors()) from exc
            if not caller.may_use(item.panel):
                raise Forbidden(f"this key may not use panel {item.panel!r}")
            evaluation = await service.submit(
                kind,
                item,
                wait=not background,
                api_key_id=caller.key_id,
                ticket=ticket,
                tenant=caller.tenant,
                actor=caller.actor,
            )
        except QuorumError as exc:
            return BatchResult(index=index, status=exc.status, problem=problems.of(exc))
        pending = background or evaluation.status == "pending"  # a replay still judged
        return BatchResult(index=index, status=202 if pending else 200, evaluation=evaluation)

    # Room for the whole batch, or 503 with nothing stored; what no item used (refused,
    # replayed) is given back when the batch ends.
    with service.admission.admit(len(body.items), panel="(batch)") as ticket:
        results = await asyncio.gather(*(one(i, raw) for i, raw in enumerate(body.items)))
    page: Page[BatchResult] = Page(data=list(results), count=len(results))
    if background:
        return JSONResponse(
            page.model_dump(mode="json"),
            status_code=202,
            headers={"Preference-Applied": "respond-async"},
        )
    return page
