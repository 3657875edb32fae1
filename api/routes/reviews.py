"""The review queue over REST."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from api.auth import Principal, requires
from api.deps import Reviews
from api.errors import Forbidden
from api.schemas import ClaimRequest, Page, ReleaseRequest, ReviewItemPublic, VerdictRequest

router = APIRouter(prefix="/v1/reviews", tags=["reviews"])
Caller = Annotated[Principal, Depends(requires("review"))]


def _panel_allowed(caller: Principal, panel: str | None) -> None:
    if panel is not None and not caller.may_use(panel):
        raise Forbidden(f"this key may not use panel {panel!r}")
    if panel is None and caller.panels is not None and len(caller.panels) != 1:
        raise Forbidden("this key is limited to some panels: name one")


@router.get("", response_model=Page[ReviewItemPublic])
async def list_reviews(
    reviews: Reviews,
    caller: Caller,
    status: Annotated[str | None, Query(description="pending, claimed or decided")] = None,
    panel: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Page[ReviewItemPublic]:
    """Review items, most uncertain first."""
    if panel is None and caller.panels is not None and len(caller.panels) == 1:
        panel = next(iter(caller.panels))
    _panel_allowed(caller, panel)
    items, total = await reviews.list(status, panel, limit, offset)
    return Page(data=items, count=total)


@router.post(
    "/claim",
    response_model=ReviewItemPublic,
    responses={204: {"description": "Nothing to review"}},
)
async def claim(
    body: ClaimRequest, reviews: Reviews, caller: Caller
) -> ReviewItemPublic | Response:
    """The next item (highest uncertainty first, then oldest) under a lease, or 204."""
    panel = body.panel
    if panel is None and caller.panels is not None and len(caller.panels) == 1:
        panel = next(iter(caller.panels))
    _panel_allowed(caller, panel)
    item = await reviews.claim(body.reviewer, panel)
    if item is None:
        return Response(status_code=204)
    return item


@router.get("/{item_id}", response_model=ReviewItemPublic)
async def get_review(
    item_id: str, reviews: Reviews, caller: Caller, reviewer: str | None = None
) -> ReviewItemPublic:
    item = await reviews.get(item_id, reviewer)
    _panel_allowed(caller, item.panel)
    return item


@router.post("/{item_id}/verdict", response_model=ReviewItemPublic)
async def verdict(
    item_id: str, body: VerdictRequest, reviews: Reviews, caller: Caller
) -> ReviewItemPublic:
    """Decide a claimed item; the value must be on the rubric's scale."""
    _panel_allowed(caller, (await reviews.get(item_id)).panel)
    return await reviews.decide(item_id, body.reviewer, body.value, body.comment, body.shown_order)


@router.post("/{item_id}/release", response_model=ReviewItemPublic)
async def release(
    item_id: str, body: ReleaseRequest, reviews: Reviews, caller: Caller
) -> ReviewItemPublic:
    """Give a claim back to the queue."""
    _panel_allowed(caller, (await reviews.get(item_id)).panel)
    return await reviews.release(item_id, body.reviewer)
