"""The review queue over REST.

The reviewer is the caller's key (`reviewer` in a body or query, if sent, must be the
key's name); in open mode it is the name sent. What each caller sees, blind review
included, is decided by `api.services.blind`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from api.auth import Principal, requires
from api.deps import Reviews
from api.errors import Forbidden
from api.schemas import ClaimRequest, Page, ReleaseRequest, ReviewItemPublic, VerdictRequest

router = APIRouter(prefix="/v1/reviews", tags=["reviews"])
Caller = Annotated[Principal, Depends(requires("review"))]
AS = Query(
    description="Read as this reviewer: with a key, omit it or send the key's name; in open "
    "mode, the name whose decisions unblind the items"
)


def _panel_allowed(caller: Principal, panel: str | None) -> None:
    if panel is not None and not caller.may_use(panel):
        raise Forbidden(f"this key may not use panel {panel!r}")


@router.get("", response_model=Page[ReviewItemPublic])
async def list_reviews(
    reviews: Reviews,
    caller: Caller,
    status: Annotated[str | None, Query(description="pending, claimed or decided")] = None,
    panel: str | None = None,
    reviewer: Annotated[str | None, AS] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Page[ReviewItemPublic]:
    """Review items of the key's tenant and panels, most uncertain first; blind where the
    reader has not decided them."""
    _panel_allowed(caller, panel)
    items, total = await reviews.list(caller, reviewer, status, panel, limit, offset)
    return Page(data=items, count=total)


@router.post(
    "/claim",
    response_model=ReviewItemPublic,
    responses={204: {"description": "Nothing to review"}},
)
async def claim(
    reviews: Reviews, caller: Caller, body: ClaimRequest | None = None
) -> ReviewItemPublic | Response:
    """The next item (highest uncertainty first, then oldest) of the key's tenant and
    panels that the caller has not decided, under a lease, or 204. Every field is
    optional, so is the body (`curl -X POST` with a key claims for the key's name)."""
    body = body or ClaimRequest()
    _panel_allowed(caller, body.panel)
    item = await reviews.claim(caller, body.reviewer, body.panel)
    if item is None:
        return Response(status_code=204)
    return item


@router.get("/{item_id}", response_model=ReviewItemPublic)
async def get_review(
    item_id: str, reviews: Reviews, caller: Caller, reviewer: Annotated[str | None, AS] = None
) -> ReviewItemPublic:
    """One item; another tenant's, or one on a panel the key may not use, is 404."""
    return await reviews.get(item_id, caller, reviewer)


@router.post("/{item_id}/verdict", response_model=ReviewItemPublic)
async def verdict(
    item_id: str, body: VerdictRequest, reviews: Reviews, caller: Caller
) -> ReviewItemPublic:
    """Decide an item the caller holds (an admin: anyone's claim, recorded `as_admin`);
    the value must be on the rubric's scale."""
    return await reviews.decide(
        item_id, caller, body.reviewer, body.value, body.comment, body.shown_order
    )


@router.post("/{item_id}/release", response_model=ReviewItemPublic)
async def release(
    item_id: str, reviews: Reviews, caller: Caller, body: ReleaseRequest | None = None
) -> ReviewItemPublic:
    """Give the caller's claim back to the queue (an admin: anyone's); the body is
    optional, as for a claim."""
    return await reviews.release(item_id, caller, (body or ReleaseRequest()).reviewer)
