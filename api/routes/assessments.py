"""POST/GET assessments (one input on every criterion of a profile) and the profiles."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from api import problems
from api.auth import Principal, requires
from api.deps import Assessments, Config, Reviews
from api.errors import Forbidden, InvalidRequest, PayloadTooLarge, QuorumError
from api.routes.batch import wants_async
from api.routes.evaluations import ASYNC
from api.schemas import Page
from api.schemas.assessments import (
    AssessmentBatchCreate,
    AssessmentBatchResult,
    AssessmentCreate,
    AssessmentPublic,
    ProfilePublic,
)
from api.services import present
from api.services.reviews import ReviewService

router = APIRouter(prefix="/v1", tags=["assessments"])
Caller = Annotated[Principal, Depends(requires("evaluate"))]


async def _shielded(
    assessment: AssessmentPublic, reviews: ReviewService, caller: Principal
) -> AssessmentPublic:
    """`assessment` as `caller` may read it: a reviewer sees a criterion awaiting their
    blind review blind, as through the evaluations API (`ReviewService.shield`), and then
    no score, compliance or failing list, which would give its verdict away."""
    if not caller.reviews_blind:
        return assessment
    criteria, blinded = [], False
    for c in assessment.criteria:
        shown = await reviews.shield(c.evaluation, caller) if c.evaluation else None
        blinded = blinded or shown is not c.evaluation
        criteria.append(c.model_copy(update={"evaluation": shown}))
    if not blinded:
        return assessment
    hidden: dict[str, Any] = {"score": None, "compliant": None, "failing": []}
    compliance = assessment.compliance.model_copy(update=hidden)
    return assessment.model_copy(update={"criteria": criteria, "compliance": compliance})


def _check(caller: Principal, config: Any, profile: str) -> None:
    """The key must be allowed every panel of the profile."""
    for c in config.profile(profile).criteria:
        if not caller.may_use(c.panel):
            raise Forbidden(f"this key may not use panel {c.panel!r} (profile {profile!r})")


@router.post("/assessments", response_model=AssessmentPublic, responses=ASYNC)
async def create_assessment(
    body: AssessmentCreate,
    service: Assessments,
    reviews: Reviews,
    config: Config,
    caller: Caller,
    prefer: Annotated[str | None, Header()] = None,
) -> AssessmentPublic | JSONResponse:
    """Judge one response on every criterion of a profile, concurrently, and answer the
    per-criterion evaluations with the weighted compliance. With `Prefer: respond-async`:
    202 at once, every criterion `pending`, judged in the background."""
    _check(caller, config, body.profile)
    if wants_async(prefer):
        accepted = await service.submit(
            body, wait=False, api_key_id=caller.key_id, tenant=caller.tenant, actor=caller.actor
        )
        return JSONResponse(
            accepted.model_dump(mode="json"),
            status_code=202,
            headers={
                "Location": f"/v1/assessments/{accepted.id}",
                "Preference-Applied": "respond-async",
            },
        )
    judged = await _shielded(
        await service.submit(
            body, api_key_id=caller.key_id, tenant=caller.tenant, actor=caller.actor
        ),
        reviews,
        caller,
    )
    if judged.status == "pending":  # a replayed key whose criteria are still judged
        return JSONResponse(
            judged.model_dump(mode="json"),
            status_code=202,
            headers={"Location": f"/v1/assessments/{judged.id}"},
        )
    return judged


@router.post(
    "/assessments/batch",
    response_model=Page[AssessmentBatchResult],
    responses={202: {"description": "Accepted: judged in the background (Prefer: respond-async)"}},
)
async def create_assessment_batch(
    body: AssessmentBatchCreate,
    request: Request,
    service: Assessments,
    reviews: Reviews,
    config: Config,
    caller: Caller,
    prefer: Annotated[str | None, Header()] = None,
) -> Page[AssessmentBatchResult] | JSONResponse:
    """Many assessments judged concurrently, answered in order; a bad item gets its own
    problem details and does not fail the batch."""
    limit = request.app.state.settings.batch_max_items
    if len(body.items) > limit:
        raise PayloadTooLarge(f"a batch holds at most {limit} items; got {len(body.items)}")
    background = wants_async(prefer)

    async def one(index: int, raw: dict[str, Any]) -> AssessmentBatchResult:
        try:
            try:
                item = AssessmentCreate.model_validate(raw)
            except ValidationError as exc:
                raise InvalidRequest.from_pydantic(exc.errors()) from exc
            _check(caller, config, item.profile)
            assessment = await service.submit(
                item,
                wait=not background,
                api_key_id=caller.key_id,
                tenant=caller.tenant,
                actor=caller.actor,
            )
        except QuorumError as exc:
            return AssessmentBatchResult(index=index, status=exc.status, problem=problems.of(exc))
        return AssessmentBatchResult(
            index=index,
            status=202 if background else 200,
            assessment=await _shielded(assessment, reviews, caller),
        )

    results = await asyncio.gather(*(one(i, raw) for i, raw in enumerate(body.items)))
    page: Page[AssessmentBatchResult] = Page(data=list(results), count=len(results))
    if background:
        return JSONResponse(
            page.model_dump(mode="json"),
            status_code=202,
            headers={"Preference-Applied": "respond-async"},
        )
    return page


@router.get("/assessments/{assessment_id}", response_model=AssessmentPublic)
async def get_assessment(
    assessment_id: str, service: Assessments, reviews: Reviews, caller: Caller
) -> AssessmentPublic:
    """One assessment, its compliance recomputed from its criteria now (human verdicts
    included); blind where the caller has a blind review of one of its criteria to do."""
    return await _shielded(await service.get(assessment_id, caller.reach), reviews, caller)


@router.get("/profiles", response_model=Page[ProfilePublic])
async def list_profiles(config: Config, caller: Caller) -> Page[ProfilePublic]:
    """The profiles the key may run: a key limited to some panels sees those whose every
    criterion is judged by one of its panels (as /v1/panels shows only its panels)."""
    data = [
        present.profile(p, config.rubrics)
        for p in config.profiles.values()
        if config.profile_within(p, caller.panels)
    ]
    return Page(data=data, count=len(data))


@router.get("/profiles/{name}", response_model=ProfilePublic)
async def get_profile(name: str, config: Config, caller: Caller) -> ProfilePublic:
    return present.profile(config.profile(name, caller.panels), config.rubrics)
