"""The human review queue: list, claim under a lease, decide, release.

The queries, and why claiming is safe under concurrency, are in `api.store.reviews`.
When an item has all its reviews and they agree (or an adjudicator decided:
`api.services.consensus`), the human value becomes the evaluation's final verdict
(`source: human`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from api.config import QuorumConfig
from api.errors import Conflict, InvalidInput, NotFound
from api.metrics import Metrics
from api.schemas import ReviewDecisionPublic, ReviewItemPublic
from api.services import present
from api.services.consensus import consensus
from api.services.webhooks import WebhookSender, delivery
from api.store import AsyncSession, IntegrityError, SessionFactory
from api.store.evaluations import EvaluationRepository
from api.store.reviews import ReviewRepository
from api.store.tables import EvaluationRow, ReviewDecisionRow, ReviewItemRow, utcnow
from rubrics import Rubric, coerce

CLAIM_ATTEMPTS = 5
STATUSES = ("pending", "claimed", "decided")
DEFAULT_LEASE_S = 900.0
"""A claim's lease on an item of a panel that is no longer configured."""


def _state(row: ReviewItemRow) -> str:
    """Why a decision on `row` cannot consume a claim, for the 409."""
    if row.status == "decided":
        return "already decided"
    return f"claimed by {row.claimed_by!r}" if row.status == "claimed" else "not claimed"


def _finalise(
    row: ReviewItemRow, evaluation: EvaluationRow, rubric: Rubric, value: Any, now: datetime
) -> None:
    """The humans' value becomes the evaluation's final verdict (`source: human`)."""
    row.status = "decided"
    row.final_value = value
    row.decided_at = now
    evaluation.verdict_value = value
    evaluation.verdict_source = "human"
    evaluation.verdict_compliant = rubric.is_compliant(value)
    evaluation.status = "decided"
    evaluation.updated_at = now


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
        self.assessment_changed: Callable[[AsyncSession, str], Awaitable[bool]] | None = None
        """Called in the decision's transaction when a final verdict lands on a criterion
        of an assessment; True when it queued a webhook."""

    def _repo(self, session: AsyncSession) -> ReviewRepository:
        return ReviewRepository(session, postgres=self.postgres)

    async def list(
        self, status: str | None, panel: str | None, limit: int, offset: int
    ) -> tuple[list[ReviewItemPublic], int]:
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
        async with self.sessions() as session:
            rows, total = await self._repo(session).page(status, panel, limit, offset)
            items = [await self._public(session, row, reviewer=None) for row in rows]
        return items, total

    async def get(self, item_id: str, reviewer: str | None = None) -> ReviewItemPublic:
        async with self.sessions() as session:
            row = await self._item(session, item_id)
            return await self._public(session, row, reviewer)

    @staticmethod
    async def _item(session: AsyncSession, item_id: str) -> ReviewItemRow:
        row = await ReviewRepository(session).get(item_id)
        if row is None:
            raise NotFound(f"no review item with id {item_id!r}")
        return row

    async def claim(self, reviewer: str, panel: str | None) -> ReviewItemPublic | None:
        """The most uncertain (then oldest) claimable item, under a lease; None if none."""
        if panel is not None:
            self.config.panel(panel)
        for _ in range(CLAIM_ATTEMPTS):
            now = utcnow()
            async with self.sessions() as session:
                repo = self._repo(session)
                found = await repo.candidate(reviewer, panel, now)
                if found is None:
                    return None
                item_id, item_panel = found
                configured = self.config.panels.get(item_panel)
                lease_s = configured.review_lease_s if configured else DEFAULT_LEASE_S
                claimed = await repo.claim(item_id, reviewer, now, lease_s)
                await session.commit()
                if not claimed:
                    continue  # lost a race for that row; pick again
                return await self._public(session, await self._item(session, item_id), reviewer)
        return None

    async def release(self, item_id: str, reviewer: str) -> ReviewItemPublic:
        async with self.sessions() as session:
            released = await self._repo(session).unclaim(item_id, reviewer, utcnow())
            await session.commit()
            row = await self._item(session, item_id)
            if not released:
                raise Conflict(f"review item {item_id} is not claimed by {reviewer!r}")
            return await self._public(session, row, reviewer)

    async def decide(
        self, item_id: str, reviewer: str, raw_value: Any, comment: str | None
    ) -> ReviewItemPublic:
        """Record a reviewer's verdict; finalise the evaluation when the item is complete."""
        async with self.sessions() as session:
            repo = self._repo(session)
            row = await self._item(session, item_id)
            evaluation = await EvaluationRepository(session).get(row.evaluation_id)
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
            if not await repo.unclaim(item_id, reviewer, now):
                raise Conflict(f"review item {item_id} is {_state(row)}; claim it first")
            decision = ReviewDecisionRow(
                review_item_id=item_id,
                evaluation_id=row.evaluation_id,
                reviewer=reviewer,
                stage=stage,
                value=value,
                comment=comment,
                created_at=now,
            )
            try:
                await repo.add_decision(decision)
            except IntegrityError as exc:
                raise Conflict(f"{reviewer!r} already decided item {item_id}") from exc
            await session.refresh(row)
            decided = [d.value for d in await repo.decisions(item_id, stage)]
            agreed = consensus(stage, decided, row.required_reviews)
            if agreed.outcome == "adjudicate":
                row.stage = "adjudication"
            elif agreed.outcome == "final":
                _finalise(row, evaluation, rubric, agreed.value, now)
            row.updated_at = now
            await repo.save(row, evaluation)
            hook = agreed.outcome == "final" and bool(evaluation.webhook_url)
            if hook:  # re-sent: the final verdict changed
                await self._notify(session, evaluation, row)
            if agreed.outcome == "final" and evaluation.assessment_id and self.assessment_changed:
                hook = await self.assessment_changed(session, evaluation.assessment_id) or hook
            await session.commit()
            if agreed.outcome == "final" and self.metrics:
                self.metrics.reviews_decided.labels(row.panel).inc()
            if hook and self.webhooks:
                self.webhooks.wake()
            return await self._public(session, row, reviewer)

    @staticmethod
    async def _notify(session: AsyncSession, evaluation: EvaluationRow, row: ReviewItemRow) -> None:
        """Queue the `evaluation.verdict_changed` webhook (commits with the decision)."""
        assert evaluation.webhook_url is not None
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

    async def _public(
        self, session: AsyncSession, row: ReviewItemRow, reviewer: str | None
    ) -> ReviewItemPublic:
        evaluations = EvaluationRepository(session)
        evaluation = await evaluations.get(row.evaluation_id)
        assert evaluation is not None
        votes = await evaluations.votes(row.evaluation_id)
        decisions = await ReviewRepository(session).decisions(row.id)
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
