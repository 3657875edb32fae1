"""The human review queue: list, claim under a lease, decide, release.

Claiming is one atomic UPDATE of the best candidate row (PostgreSQL: the candidate is
picked with FOR UPDATE SKIP LOCKED; SQLite serialises writers), guarded again by its
status in the outer WHERE, so no item is ever handed to two reviewers. A decision
consumes the claim with a conditional UPDATE too. When an item has all its reviews and
they agree (or an adjudicator decided), the human value becomes the evaluation's final
verdict (`source: human`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api import present
from api.config import QuorumConfig
from api.db import SessionFactory
from api.errors import Conflict, InvalidInput, NotFound
from api.metrics import Metrics
from api.repository import EvaluationRepository
from api.schemas import ReviewDecisionPublic, ReviewItemPublic
from api.tables import EvaluationRow, ReviewDecisionRow, ReviewItemRow, utcnow
from api.webhooks import WebhookSender, delivery
from rubrics import coerce

CLAIM_ATTEMPTS = 5
STATUSES = ("pending", "claimed", "decided")


class ReviewService:
    """Review items over the database; every method is one short transaction."""

    def __init__(
        self,
        config: QuorumConfig,
        sessions: SessionFactory,
        postgres: bool,
        webhooks: WebhookSender | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.postgres = postgres
        self.webhooks = webhooks
        self.metrics = metrics

    async def list(
        self, status: str | None, panel: str | None, limit: int, offset: int
    ) -> tuple[list[ReviewItemPublic], int]:
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
        conditions = []
        if status:
            conditions.append(col(ReviewItemRow.status) == status)
        if panel:
            conditions.append(col(ReviewItemRow.panel) == panel)
        async with self.sessions() as session:
            total = (
                await session.exec(
                    select(func.count()).select_from(ReviewItemRow).where(*conditions)
                )
            ).one()
            rows = (
                await session.exec(
                    select(ReviewItemRow)
                    .where(*conditions)
                    .order_by(col(ReviewItemRow.uncertainty).desc(), col(ReviewItemRow.created_at))
                    .limit(limit)
                    .offset(offset)
                )
            ).all()
            items = [await self._public(session, row, reviewer=None) for row in rows]
        return items, int(total)

    async def get(self, item_id: str, reviewer: str | None = None) -> ReviewItemPublic:
        async with self.sessions() as session:
            row = await session.get(ReviewItemRow, item_id)
            if row is None:
                raise NotFound(f"no review item with id {item_id!r}")
            return await self._public(session, row, reviewer)

    async def claim(self, reviewer: str, panel: str | None) -> ReviewItemPublic | None:
        """The most uncertain (then oldest) claimable item, under a lease; None if none."""
        if panel is not None and panel not in self.config.panels:
            raise NotFound(f"no panel named {panel!r}")
        for _ in range(CLAIM_ATTEMPTS):
            now = utcnow()
            async with self.sessions() as session:
                claimed = await self._claim_once(session, reviewer, panel, now)
                await session.commit()
                if claimed is None:
                    return None
                if claimed == "":
                    continue  # lost a race for that row; pick again
                row = await session.get(ReviewItemRow, claimed)
                assert row is not None
                return await self._public(session, row, reviewer)
        return None

    async def _claim_once(
        self, session: AsyncSession, reviewer: str, panel: str | None, now: datetime
    ) -> str | None:
        claimable = or_(
            col(ReviewItemRow.status) == "pending",
            and_(col(ReviewItemRow.status) == "claimed", col(ReviewItemRow.lease_until) < now),
        )
        mine = exists().where(
            col(ReviewDecisionRow.review_item_id) == col(ReviewItemRow.id),
            col(ReviewDecisionRow.reviewer) == reviewer,
        )
        pick = (
            select(ReviewItemRow.id, ReviewItemRow.panel)
            .where(claimable, ~mine)
            .order_by(col(ReviewItemRow.uncertainty).desc(), col(ReviewItemRow.created_at))
            .limit(1)
        )
        if panel is not None:
            pick = pick.where(col(ReviewItemRow.panel) == panel)
        if self.postgres:
            pick = pick.with_for_update(skip_locked=True)
        found = (await session.exec(pick)).first()
        if found is None:
            return None
        item_id, item_panel = found
        lease = (
            self.config.panels[item_panel].review_lease_s
            if item_panel in self.config.panels
            else 900.0
        )
        result = await session.exec(
            update(ReviewItemRow)
            .where(col(ReviewItemRow.id) == item_id, claimable)
            .values(
                status="claimed",
                claimed_by=reviewer,
                lease_until=now + timedelta(seconds=lease),
                updated_at=now,
            )
        )
        return item_id if result.rowcount == 1 else ""

    async def release(self, item_id: str, reviewer: str) -> ReviewItemPublic:
        async with self.sessions() as session:
            result = await session.exec(
                update(ReviewItemRow)
                .where(
                    col(ReviewItemRow.id) == item_id,
                    col(ReviewItemRow.status) == "claimed",
                    col(ReviewItemRow.claimed_by) == reviewer,
                )
                .values(status="pending", claimed_by=None, lease_until=None, updated_at=utcnow())
            )
            await session.commit()
            row = await session.get(ReviewItemRow, item_id)
            if row is None:
                raise NotFound(f"no review item with id {item_id!r}")
            if result.rowcount != 1:
                raise Conflict(f"review item {item_id} is not claimed by {reviewer!r}")
            return await self._public(session, row, reviewer)

    async def decide(
        self, item_id: str, reviewer: str, raw_value: Any, comment: str | None
    ) -> ReviewItemPublic:
        """Record a reviewer's verdict; finalise the evaluation when the item is complete."""
        async with self.sessions() as session:
            row = await session.get(ReviewItemRow, item_id)
            if row is None:
                raise NotFound(f"no review item with id {item_id!r}")
            evaluation = await session.get(EvaluationRow, row.evaluation_id)
            assert evaluation is not None
            rubric = self.config.rubrics.get(evaluation.rubric_id)
            if rubric is None:
                raise Conflict(f"rubric {evaluation.rubric_id!r} is no longer configured")
            value = coerce(rubric, raw_value)
            if value is None:
                raise InvalidInput(
                    f"value {raw_value!r} is not on the scale of {rubric.key}: {list(rubric.scale)}"
                )
            now = utcnow()
            stage = row.stage
            consumed = await session.exec(
                update(ReviewItemRow)
                .where(
                    col(ReviewItemRow.id) == item_id,
                    col(ReviewItemRow.status) == "claimed",
                    col(ReviewItemRow.claimed_by) == reviewer,
                )
                .values(status="pending", claimed_by=None, lease_until=None, updated_at=now)
            )
            if consumed.rowcount != 1:
                state = (
                    "already decided"
                    if row.status == "decided"
                    else (
                        f"claimed by {row.claimed_by!r}"
                        if row.status == "claimed"
                        else "not claimed"
                    )
                )
                raise Conflict(f"review item {item_id} is {state}; claim it first")
            session.add(
                ReviewDecisionRow(
                    review_item_id=item_id,
                    evaluation_id=row.evaluation_id,
                    reviewer=reviewer,
                    stage=stage,
                    value=value,
                    comment=comment,
                    created_at=now,
                )
            )
            try:
                await session.flush()
            except IntegrityError as exc:
                raise Conflict(f"{reviewer!r} already decided item {item_id}") from exc
            await session.refresh(row)
            decisions = await self._decisions(session, item_id, stage)
            final = None
            if stage == "adjudication":
                final = value
            elif len(decisions) >= row.required_reviews:
                values = {repr(d.value) for d in decisions}
                if len(values) == 1:
                    final = value
                else:
                    row.stage = "adjudication"
            if final is not None:
                row.status = "decided"
                row.final_value = final
                row.decided_at = now
                evaluation.verdict_value = final
                evaluation.verdict_source = "human"
                evaluation.verdict_compliant = rubric.is_compliant(final)
                evaluation.status = "decided"
                evaluation.updated_at = now
                session.add(evaluation)
            row.updated_at = now
            session.add(row)
            hook = final is not None and evaluation.webhook_url
            if hook and evaluation.webhook_url:  # re-sent: the final verdict changed
                votes = await EvaluationRepository(session).votes(evaluation.id)
                shown = [present.vote(v) for v in votes]
                payload = present.evaluation(evaluation, shown, row).model_dump(mode="json")
                session.add(
                    delivery(
                        evaluation.id,
                        evaluation.webhook_url,
                        "evaluation.verdict_changed",
                        payload,
                        evaluation.api_key_id,
                    )
                )
            await session.commit()
            if final is not None and self.metrics:
                self.metrics.reviews_decided.labels(row.panel).inc()
            if hook and self.webhooks:
                self.webhooks.wake()
            return await self._public(session, row, reviewer)

    async def _decisions(
        self, session: AsyncSession, item_id: str, stage: str | None = None
    ) -> Sequence[ReviewDecisionRow]:
        q = select(ReviewDecisionRow).where(col(ReviewDecisionRow.review_item_id) == item_id)
        if stage is not None:
            q = q.where(col(ReviewDecisionRow.stage) == stage)
        return (await session.exec(q.order_by(col(ReviewDecisionRow.id)))).all()

    async def _public(
        self, session: AsyncSession, row: ReviewItemRow, reviewer: str | None
    ) -> ReviewItemPublic:
        evaluation = await session.get(EvaluationRow, row.evaluation_id)
        assert evaluation is not None
        votes = await EvaluationRepository(session).votes(row.evaluation_id)
        decisions = await self._decisions(session, row.id)
        panel = self.config.panels.get(row.panel)
        blind = panel.blind_review if panel else True
        decided_by_me = reviewer is not None and any(d.reviewer == reviewer for d in decisions)
        reveal = not blind or row.status == "decided" or decided_by_me or reviewer is None
        public = present.evaluation(
            evaluation, [present.vote(v) for v in votes] if reveal else [], row
        )
        if not reveal:
            public = public.model_copy(
                update={"verdict": None, "confidence": None, "judges": [], "agreement": None}
            )
        rubric = self.config.rubrics.get(evaluation.rubric_id)
        # Independent reviews: a reviewer sees other reviewers' decisions only once decided.
        shown = [d for d in decisions if row.status == "decided" or d.reviewer == reviewer]
        return ReviewItemPublic(
            id=row.id,
            evaluation_id=row.evaluation_id,
            panel=row.panel,
            status=row.status,
            stage=row.stage,
            uncertainty=row.uncertainty,
            reasons=row.reasons,
            required_reviews=row.required_reviews,
            reviews_done=sum(1 for d in decisions if d.stage == "review"),
            claimed_by=row.claimed_by,
            lease_until=row.lease_until,
            final_value=row.final_value,
            decided_at=row.decided_at,
            created_at=row.created_at,
            blind=not reveal,
            rubric=present.rubric(rubric) if rubric else None,
            evaluation=public,
            decisions=[
                ReviewDecisionPublic(
                    reviewer=d.reviewer,
                    stage=d.stage,
                    value=d.value,
                    comment=d.comment,
                    created_at=d.created_at,
                )
                for d in shown
            ],
        )
