"""Queries over review items and decisions. Services call these; routes do not.

Claiming is one atomic UPDATE of the best candidate row (PostgreSQL: the candidate is
picked with FOR UPDATE SKIP LOCKED; SQLite serialises writers), guarded again by its
status in the outer WHERE, so no item is ever handed to two reviewers. A decision
consumes the claim with a conditional UPDATE too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.store.reach import Reach
from api.store.tables import ReviewDecisionRow, ReviewItemRow, utcnow


def _lapsed(now: datetime) -> ColumnElement[bool]:
    """Claimed under a lease that ran out (pending again: `status_at`)."""
    return and_(col(ReviewItemRow.status) == "claimed", col(ReviewItemRow.lease_until) < now)


def _claimable(now: datetime) -> ColumnElement[bool]:
    """Pending, or claimed under a lease that ran out."""
    return or_(col(ReviewItemRow.status) == "pending", _lapsed(now))


def _held(now: datetime) -> ColumnElement[bool]:
    """Claimed under a lease that still runs."""
    return and_(col(ReviewItemRow.status) == "claimed", col(ReviewItemRow.lease_until) >= now)


def _is(status: str, now: datetime) -> ColumnElement[bool]:
    """The item's status is `status` as the API tells it (`status_at`)."""
    if status == "pending":
        return _claimable(now)
    if status == "claimed":
        return _held(now)
    return col(ReviewItemRow.status) == status


def status_at(row: ReviewItemRow, now: datetime) -> str:
    """The item's status at `now`: a claim whose lease ran out is pending again (anyone may
    claim it), whatever the stored status still says. Expired claims are not swept back:
    every reader (the list filter, the queue gauges, an item's answer) applies this rule,
    so there is no window in which they disagree, and no job to run on every replica."""
    if row.status == "claimed" and row.lease_until is not None and row.lease_until < now:
        return "pending"
    return row.status


class ReviewRepository:
    """Review persistence over one session (the caller owns the transaction)."""

    def __init__(self, session: AsyncSession, postgres: bool = False) -> None:
        self.session = session
        self.postgres = postgres

    async def get(self, item_id: str) -> ReviewItemRow | None:
        return await self.session.get(ReviewItemRow, item_id)

    async def fresh(self, item_id: str) -> ReviewItemRow:
        """The item as the database now holds it in this transaction (after Core UPDATEs
        and flushed changes), whatever the session had loaded before."""
        await self.session.flush()
        row = await self.session.get(ReviewItemRow, item_id, populate_existing=True)
        if row is None:
            raise LookupError(f"review item {item_id!r} vanished")
        return row

    async def page(
        self, status: str | None, panel: str | None, reach: Reach, limit: int, offset: int
    ) -> tuple[Sequence[ReviewItemRow], int]:
        """Items `reach` sees, most uncertain first (then oldest), and how many match."""
        conditions = reach.where(ReviewItemRow.tenant, ReviewItemRow.panel)
        if status:
            conditions.append(_is(status, utcnow()))
        if panel:
            conditions.append(col(ReviewItemRow.panel) == panel)
        total = (
            await self.session.exec(
                select(func.count()).select_from(ReviewItemRow).where(*conditions)
            )
        ).one()
        rows = (
            await self.session.exec(
                select(ReviewItemRow)
                .where(*conditions)
                .order_by(col(ReviewItemRow.uncertainty).desc(), col(ReviewItemRow.created_at))
                .limit(limit)
                .offset(offset)
            )
        ).all()
        return rows, int(total)

    async def candidate(
        self, reviewer: str, panel: str | None, reach: Reach, now: datetime
    ) -> tuple[str, str] | None:
        """(id, panel) of the most uncertain claimable item `reach` sees that `reviewer`
        has not decided (at any stage: one principal counts once)."""
        mine = exists().where(
            col(ReviewDecisionRow.review_item_id) == col(ReviewItemRow.id),
            col(ReviewDecisionRow.reviewer) == reviewer,
        )
        pick = (
            select(ReviewItemRow.id, ReviewItemRow.panel)
            .where(_claimable(now), ~mine, *reach.where(ReviewItemRow.tenant, ReviewItemRow.panel))
            .order_by(col(ReviewItemRow.uncertainty).desc(), col(ReviewItemRow.created_at))
            .limit(1)
        )
        if panel is not None:
            pick = pick.where(col(ReviewItemRow.panel) == panel)
        if self.postgres:
            pick = pick.with_for_update(skip_locked=True)
        found = (await self.session.exec(pick)).first()
        return None if found is None else (found[0], found[1])

    async def held(
        self, reviewer: str, panel: str | None, reach: Reach, now: datetime
    ) -> str | None:
        """The id of an item `reach` sees that `reviewer` holds under a running lease (on
        `panel`, if given; the most uncertain, then oldest, first), or None."""
        pick = (
            select(ReviewItemRow.id)
            .where(
                _held(now),
                col(ReviewItemRow.claimed_by) == reviewer,
                *reach.where(ReviewItemRow.tenant, ReviewItemRow.panel),
            )
            .order_by(col(ReviewItemRow.uncertainty).desc(), col(ReviewItemRow.created_at))
            .limit(1)
        )
        if panel is not None:
            pick = pick.where(col(ReviewItemRow.panel) == panel)
        return (await self.session.exec(pick)).first()

    async def claim(self, item_id: str, reviewer: str, now: datetime, lease_s: float) -> bool:
        """Claim `item_id` for `reviewer` if it is still claimable; False if another won."""
        result = await self.session.exec(
            update(ReviewItemRow)
            .where(col(ReviewItemRow.id) == item_id, _claimable(now))
            .values(
                status="claimed",
                claimed_by=reviewer,
                lease_until=now + timedelta(seconds=lease_s),
                updated_at=now,
            )
        )
        return result.rowcount == 1

    async def unclaim(self, item_id: str, reviewer: str | None, now: datetime) -> bool:
        """Put `reviewer`'s claim on the item back to pending (a release, or a decision
        consuming it); None: whoever's claim it is (an admin). False if the item is not
        claimed (by `reviewer`)."""
        held = [col(ReviewItemRow.id) == item_id, col(ReviewItemRow.status) == "claimed"]
        if reviewer is not None:
            held.append(col(ReviewItemRow.claimed_by) == reviewer)
        result = await self.session.exec(
            update(ReviewItemRow)
            .where(*held)
            .values(status="pending", claimed_by=None, lease_until=None, updated_at=now)
        )
        return result.rowcount == 1

    async def add_decision(self, decision: ReviewDecisionRow) -> None:
        """Insert a decision; IntegrityError if this reviewer already decided the stage."""
        self.session.add(decision)
        await self.session.flush()

    async def decisions(
        self, item_id: str, stage: str | None = None
    ) -> Sequence[ReviewDecisionRow]:
        q = select(ReviewDecisionRow).where(col(ReviewDecisionRow.review_item_id) == item_id)
        if stage is not None:
            q = q.where(col(ReviewDecisionRow.stage) == stage)
        return (await self.session.exec(q.order_by(col(ReviewDecisionRow.id)))).all()

    async def depth(
        self, statuses: Sequence[str], now: datetime | None = None
    ) -> dict[tuple[str, str], int]:
        """How many review items in `statuses` (as `status_at` tells them) each (panel,
        status) holds at `now` (default: now)."""
        # A subquery, so the status expression is grouped by its name: PostgreSQL would not
        # match the CASE in GROUP BY with the one selected (each binds `now` anew).
        status = case((_lapsed(now or utcnow()), "pending"), else_=col(ReviewItemRow.status))
        told = select(col(ReviewItemRow.panel).label("panel"), status.label("status")).subquery()
        rows = await self.session.exec(
            select(told.c.panel, told.c.status, func.count())
            .where(told.c.status.in_(statuses))
            .group_by(told.c.panel, told.c.status)
        )
        return {(p, s): int(n) for p, s, n in rows.all()}

    async def oldest_pending(self, now: datetime | None = None) -> dict[str, datetime]:
        """When each panel's oldest pending item (a lapsed claim included) was created."""
        rows = await self.session.exec(
            select(ReviewItemRow.panel, func.min(ReviewItemRow.created_at))
            .where(_claimable(now or utcnow()))
            .group_by(ReviewItemRow.panel)
        )
        return {p: t for p, t in rows.all() if t is not None}

    async def save(self, *rows: Any) -> None:
        for row in rows:
            self.session.add(row)
