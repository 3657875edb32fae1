"""The compliance matrix, drift events and the routing recommendation (docs/governance.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from api.auth import Principal
from api.deps import Config
from api.errors import Forbidden
from api.routes.audit import IsoDatetime
from api.routes.models import Caller
from api.schemas import Page
from api.schemas.governance import ComplianceMatrix, DriftEventPublic, RecommendationPublic
from api.services.compliance import ComplianceService
from api.services.governance import GovernanceService

router = APIRouter(prefix="/v1", tags=["governance"])
UseCase = Annotated[
    str | None,
    Query(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:/-]+$", description="a use case"),
]


async def _governance(request: Request) -> GovernanceService:
    return request.app.state.governance


async def _compliance(request: Request) -> ComplianceService:
    return request.app.state.compliance


Governance = Annotated[GovernanceService, Depends(_governance)]
Compliance = Annotated[ComplianceService, Depends(_compliance)]


def _check(caller: Principal, config: Config, profile: str) -> None:
    """The key must be allowed every panel of the profile (as to assess on it)."""
    for c in config.profile(profile).criteria:
        if not caller.may_use(c.panel):
            raise Forbidden(f"this key may not use panel {c.panel!r} (profile {profile!r})")


@router.get("/compliance", response_model=ComplianceMatrix)
async def compliance_matrix(
    compliance: Compliance,
    config: Config,
    caller: Caller,
    profile: Annotated[str, Query(description="the profile whose assessments are counted")],
    window: Annotated[str, Query(description="how far back: 30m, 12h, 7d...")] = "7d",
    use_case: UseCase = None,
    subject_model: Annotated[str | None, Query(min_length=1, max_length=256)] = None,
) -> ComplianceMatrix:
    """Per subject model x use case (and per criterion) of the caller's tenant: judged
    items, the compliance rate with its 95% Wilson interval, the rate corrected on the
    audit sample (PPI) with the audited items it rests on, and the trend."""
    _check(caller, config, profile)
    return await compliance.matrix(
        caller.reach, profile, window, use_case=use_case, model=subject_model
    )


@router.get("/drift", response_model=Page[DriftEventPublic])
async def drift_events(
    governance: Governance,
    caller: Caller,
    model: Annotated[str | None, Query(min_length=1, max_length=256)] = None,
    since: IsoDatetime | None = None,
) -> Page[DriftEventPublic]:
    """Drift events of the caller's tenant, newest first (at most 1000)."""
    data = await governance.drift_events(caller.tenant, model, since)
    return Page(data=data, count=len(data))


@router.get("/routing/recommendation", response_model=RecommendationPublic)
async def recommendation(
    governance: Governance,
    config: Config,
    caller: Caller,
    profile: Annotated[str, Query(description="the profile compliance is measured on")],
    use_case: UseCase = None,
    window: Annotated[str, Query(description="how far back: 30m, 12h, 7d...")] = "7d",
) -> RecommendationPublic:
    """The model to serve `use_case`: the production model (never one in quarantine)
    with the best lower 95% bound of its compliance (PPI-corrected where audited), with
    the whole ranking and the reasons; `model: null` when none qualifies."""
    _check(caller, config, profile)
    return await governance.recommendation(caller.tenant, profile, use_case, window)
