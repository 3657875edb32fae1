"""The review queue over REST."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import Reviews
from api.schemas import ClaimRequest, Page, ReleaseRequest, ReviewItemPublic, VerdictRequest

router = APIRouter(prefix="/v1/reviews", tags=["reviews"])


@router.get("", response_model=Page[ReviewItemPublic])
async def list_reviews(
    reviews: Reviews,
    status: Annotated[str | None, Query(description="pending, claimed or decided")] = None,
    panel: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[ReviewItemPublic]:
    """Review items, most uncertain first."""
    items, total = await reviews.list(status, panel, limit, offset)
    return Page(data=items, count=total)


@router.post(
    "/claim",
    response_model=ReviewItemPublic,
    responses={204: {"description": "Nothing to review"}},
)
async def claim(body: ClaimRequest, reviews: Reviews) -> ReviewItemPublic | Response:
    """The next item (highest uncertainty first, then oldest) under a lease, or 204."""
    item = await reviews.claim(body.reviewer, body.panel)
    if item is None:
        return Response(status_code=204)
    return item


@router.get("/{item_id}", response_model=ReviewItemPublic)
async def get_review(
    item_id: str, reviews: Reviews, reviewer: str | None = None
) -> ReviewItemPublic:
    return await reviews.get(item_id, reviewer)


@router.post("/{item_id}/verdict", response_model=ReviewItemPublic)
async def verdict(item_id: str, body: VerdictRequest, reviews: Reviews) -> ReviewItemPublic:
    """Decide a claimed item; the value must be on the rubric's scale."""
    return await reviews.decide(item_id, body.reviewer, body.value, body.comment)


@router.post("/{item_id}/release", response_model=ReviewItemPublic)
async def release(item_id: str, body: ReleaseRequest, reviews: Reviews) -> ReviewItemPublic:
    """Give a claim back to the queue."""
    return await reviews.release(item_id, body.reviewer)
