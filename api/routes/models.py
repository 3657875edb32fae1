"""Subject models' lifecycle zones and transitions (docs/governance.md).

Model names may hold slashes (`openai/gpt-4o`): the path takes them as they are or
percent-encoded; the routes with a suffix are declared before the bare one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.auth import Principal, requires
from api.errors import Forbidden, InvalidInput
from api.schemas import Page
from api.schemas.governance import (
    EvaluateResult,
    ModelPublic,
    TransitionCreate,
    TransitionPublic,
)
from api.services.governance import GovernanceService
from api.services.lifecycle import LifecycleService, scope_of

router = APIRouter(prefix="/v1/models", tags=["governance"])
Admin = Annotated[Principal, Depends(requires("admin"))]
MAX_MODEL = 256


async def evaluate_or_admin(request: Request) -> Principal:
    """The caller, who holds the `evaluate` or the `admin` scope."""
    try:
        return await requires("evaluate")(request)
    except Forbidden:
        return await requires("admin")(request)


Caller = Annotated[Principal, Depends(evaluate_or_admin)]


async def _lifecycle(request: Request) -> LifecycleService:
    return request.app.state.lifecycle


async def _governance(request: Request) -> GovernanceService:
    return request.app.state.governance


Lifecycle = Annotated[LifecycleService, Depends(_lifecycle)]
Governance = Annotated[GovernanceService, Depends(_governance)]


def _name(model: str) -> str:
    if not 1 <= len(model) <= MAX_MODEL:
        raise InvalidInput(f"a model name has 1 to {MAX_MODEL} characters", "path.model")
    if "\x00" in model:
        raise InvalidInput("a model name must not contain a NUL (U+0000) character", "path.model")
    return model


@router.get("", response_model=Page[ModelPublic])
async def list_models(governance: Governance, caller: Caller) -> Page[ModelPublic]:
    """Every subject model of the caller's tenant: those with a zone, and those seen in
    evaluations (candidates), with the latest transition and drift."""
    data = await governance.models(caller.tenant)
    return Page(data=data, count=len(data))


@router.get("/{model:path}/transitions", response_model=Page[TransitionPublic])
async def list_transitions(
    model: str, lifecycle: Lifecycle, caller: Caller
) -> Page[TransitionPublic]:
    """The model's transitions, oldest first."""
    data = await lifecycle.transitions(scope_of(caller.tenant), _name(model))
    return Page(data=data, count=len(data))


@router.post("/{model:path}/transitions", response_model=TransitionPublic, status_code=201)
async def create_transition(
    model: str, body: TransitionCreate, lifecycle: Lifecycle, caller: Admin
) -> TransitionPublic:
    """Move the model to another zone, with a reason (admin). Its zone already: 409."""
    return await lifecycle.transition(
        scope_of(caller.tenant), _name(model), body.to, caller.actor, body.reason
    )


@router.post("/{model:path}/evaluate", response_model=EvaluateResult)
async def evaluate_model(model: str, governance: Governance, caller: Caller) -> EvaluateResult:
    """Run the drift sweep now, then the policies for this model, and answer the
    transitions they made (none: `reason` says why) and the drift events the sweep raised
    on it."""
    return await governance.evaluate(caller.tenant, _name(model))


@router.get("/{model:path}", response_model=ModelPublic)
async def get_model(model: str, lifecycle: Lifecycle, caller: Caller) -> ModelPublic:
    """The model's zone (a model never seen is a `candidate`), latest transition, drift."""
    return await lifecycle.model(scope_of(caller.tenant), _name(model))
