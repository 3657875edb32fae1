"""The human review queue: list, claim under a lease, decide, release.

The queries, and why claiming is safe under concurrency, are in `api.store.reviews`.
When an item has all its reviews and they agree (or an adjudicator decided:
`api.services.consensus`), the human value becomes the evaluation's final verdict
(`source: human`).

Every call names its caller (`api.auth.Principal`): the reviewer recorded is the key's
name, one principal counts once towards `reviewers: k`, only the claimant (or an admin,
recorded as such) decides or releases a claim, items of another tenant or panel are not
found, and what the caller sees is `api.services.blind.view`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from api.auth import Principal
from api.config import QuorumConfig
from api.errors import Conflict, InvalidInput, NotFound
from api.metrics import Metrics
from api.schemas import EvaluationPublic, ReviewItemPublic
from api.services import blind, present
from api.services.blind import Reader
from api.services.consensus import consensus
from api.services.webhooks import WebhookSender, delivery
from api.services.window_keys import row_key
from api.store import AsyncSession, IntegrityError, Reach, SessionFactory
from api.store.audit_log import Actor as AuditActor
from api.store.audit_log import AuditLog
from api.store.digest import evaluation_digest, review_digest
from api.store.evaluations import EvaluationRepository
from api.store.reviews import ReviewRepository
from api.store.tables import EvaluationRow, ReviewDecisionRow, ReviewItemRow, utcnow
from api.store.window_counts import WindowCountsRepository
from rubrics import Order, Rubric, exact

log = logging.getLogger("quorum.reviews")

CLAIM_ATTEMPTS = 5
STATUSES = ("pending", "claimed", "decided")
DEFAULT_LEASE_S = 900.0
"""A claim's lease on an item of a panel that is no longer configured."""


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


def _verdict(evaluation: EvaluationRow) -> dict[str, Any]:
    """An evaluation's verdict, as an audit event's before or after value."""
    return {
        "status": evaluation.status,
        "value": evaluation.verdict_value,
        "compliant": evaluation.verdict_compliant,
        "source": evaluation.verdict_source,
    }


def _actor(who: Principal, name: str) -> AuditActor:
    """The audit trail's actor of a review action: the calling key and the reviewer."""
    return AuditActor(who.key_id, name)


async def _record(
    session: AsyncSession,
    event: str,
    actor: AuditActor,
    item_id: str,
    reviewer: str,
    extra: dict[str, Any] | None = None,
) -> AuditLog:
    """Append a review event with the item's record as it now is (in this transaction)."""
    repo = ReviewRepository(session)
    row = await repo.fresh(item_id)
    digest = review_digest(row, await repo.decisions(item_id))
    after = {"status": row.status, "stage": row.stage, "reviewer": reviewer, **(extra or {})}
    if row.claimed_by is not None:
        after["lease_until"] = row.lease_until.isoformat() if row.lease_until else None
    audit = AuditLog(session)
    await audit.append(
        event,
        actor,
        "review",
        item_id,
        record_sha256=digest,
        after=after,
        evaluation_id=row.evaluation_id,
        panel=row.panel,
    )
    return audit


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
        self,
        who: Principal,
        reviewer: str | None,
        status: str | None,
        panel: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[ReviewItemPublic], int]:
        """Items the caller may see, each as `reader` sees it (blind where undecided)."""
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
        by = blind.reader(who, reviewer)
        async with self.sessions() as session:
            rows, total = await self._repo(session).page(status, panel, who.reach, limit, offset)
            items = [await self._public(session, row, by) for row in rows]
        return items, total

    async def get(
        self, item_id: str, who: Principal, reviewer: str | None = None
    ) -> ReviewItemPublic:
        by = blind.reader(who, reviewer)
        async with self.sessions() as session:
            row = await self._item(session, item_id, who.reach)
            return await self._public(session, row, by)

    async def shield(self, evaluation: EvaluationPublic, who: Principal) -> EvaluationPublic:
        """`evaluation` as a reviewer reads it through the evaluations API: blind (as in a
        blind view of its review item) while it awaits a review on a blind panel that
        `who` has not decided."""
        panel = self.config.panels.get(evaluation.panel)
        if evaluation.review_id is None or not who.reviews_blind:
            return evaluation
        if panel is not None and not panel.blind_review:
            return evaluation
        async with self.sessions() as session:
            repo = ReviewRepository(session)
            row = await repo.get(evaluation.review_id)
            decisions = await repo.decisions(evaluation.review_id)
        if row is None or row.status == "decided" or any(d.reviewer == who.name for d in decisions):
            return evaluation
        return blind.blinded(evaluation)

    @staticmethod
    async def _item(session: AsyncSession, item_id: str, reach: Reach) -> ReviewItemRow:
        """The item, if `reach` sees it: another tenant's or panel's is not found."""
        row = await ReviewRepository(session).get(item_id)
        if row is None or not reach.sees(row.tenant, row.panel):
            raise NotFound(f"no review item with id {item_id!r}")
        return row

    async def claim(
        self, who: Principal, reviewer: str | None, panel: str | None
    ) -> ReviewItemPublic | None:
        """The item the caller already holds under a running lease (on `panel`, if given),
        so a reviewer who lost their page gets it back; else the most uncertain (then
        oldest) claimable item the caller may see and has not decided, under a lease;
        None if none."""
        by = blind.actor(who, reviewer)
        if panel is not None:
            self.config.panel(panel)
        for _ in range(CLAIM_ATTEMPTS):
            now = utcnow()
            async with self.sessions() as session:
                repo = self._repo(session)
                mine = await repo.held(by.name, panel, who.reach, now)
                if mine is not None:  # handed back as it is: same lease, nothing to record
                    return await self._public(session, await repo.fresh(mine), by)
                found = await repo.candidate(by.name, panel, who.reach, now)
                if found is None:
                    return None
                item_id, item_panel = found
                configured = self.config.panels.get(item_panel)
                lease_s = configured.review_lease_s if configured else DEFAULT_LEASE_S
                claimed = await repo.claim(item_id, by.name, now, lease_s)
                if claimed:
                    await _record(session, "claimed", _actor(who, by.name), item_id, by.name)
                await session.commit()
                if not claimed:
                    continue  # lost a race for that row; pick again
                item = await self._item(session, item_id, who.reach)
                return await self._public(session, item, by)
        return None

    async def release(self, item_id: str, who: Principal, reviewer: str | None) -> ReviewItemPublic:
        """Give a claim back: the claimant's own, or (an admin) anyone's."""
        by = blind.actor(who, reviewer)
        async with self.sessions() as session:
            row = await self._item(session, item_id, who.reach)
            holder = row.claimed_by
            anyone = who.admin and holder != by.name
            released = await self._repo(session).unclaim(
                item_id, None if anyone else by.name, utcnow()
            )
            if released:
                await _record(session, "released", _actor(who, by.name), item_id, by.name)
            await session.commit()
            await session.refresh(row)
            if not released:
                raise Conflict(f"review item {item_id} is not claimed by {by.name!r}")
            if anyone:
                log.info(
                    "admin %s (key %s) released %s's claim on %s",
                    by.name,
                    who.key_id,
                    holder,
                    item_id,
                )
            return await self._public(session, row, by)

    async def decide(
        self,
        item_id: str,
        who: Principal,
        reviewer: str | None,
        raw_value: Any,
        comment: str | None,
        order: Order | None = None,
    ) -> ReviewItemPublic:
        """Record the caller's verdict on an item they hold (an admin: on anyone's claim,
        recorded `as_admin`); finalise the evaluation when the item is complete.
        `order`: pairwise only, the order the reviewer was shown (`raw_value` is canonical)."""
        by = blind.actor(who, reviewer)
        async with self.sessions() as session:
            repo = self._repo(session)
            row = await self._item(session, item_id, who.reach)
            evaluation = await EvaluationRepository(session).get(row.evaluation_id)
            assert evaluation is not None
            rubric = self.config.rubrics.get(evaluation.rubric_id)
            if rubric is None:
                raise Conflict(f"rubric {evaluation.rubric_id!r} is no longer configured")
            value = exact(rubric, raw_value)
            if value is None:
                shown = json.dumps(raw_value)
                shown = shown if len(shown) <= 80 else f"{shown[:77]}..."
                raise InvalidInput(
                    f"value {shown} is not on the scale of {rubric.key}: "
                    f"{json.dumps(list(rubric.scale))} (the same JSON type exactly)",
                    location="body.value",
                )
            if order is not None and evaluation.kind != "comparison":
                raise InvalidInput("shown_order applies to pairwise items only")
            _counted_once(by.name, item_id, await repo.decisions(item_id))
            now = utcnow()
            stage = row.stage
            as_admin = who.admin and row.status == "claimed" and row.claimed_by != by.name
            if not await repo.unclaim(item_id, None if as_admin else by.name, now):
                await session.refresh(row)  # word the 409 from what a concurrent one left
                _counted_once(by.name, item_id, await repo.decisions(item_id))
                raise Conflict(f"review item {item_id} is {blind.state(row, by)}")
            decision = ReviewDecisionRow(
                review_item_id=item_id,
                evaluation_id=row.evaluation_id,
                reviewer=by.name,
                key_id=who.key_id,
                as_admin=as_admin,
                stage=stage,
                value=value,
                comment=comment,
                shown_order=order,
                created_at=now,
            )
            try:
                await repo.add_decision(decision)
            except IntegrityError as exc:
                raise Conflict(f"{by.name!r} already decided item {item_id}") from exc
            await session.refresh(row)
            decided = [d.value for d in await repo.decisions(item_id, stage)]
            agreed = consensus(stage, decided, row.required_reviews)
            panel_verdict = _verdict(evaluation)
            if agreed.outcome == "adjudicate":
                row.stage = "adjudication"
            elif agreed.outcome == "final":
                _finalise(row, evaluation, rubric, agreed.value, now)
            row.updated_at = now
            await repo.save(row, evaluation)
            if agreed.outcome == "final":  # the human verdict enters the window counts
                votes = await EvaluationRepository(session).votes(evaluation.id)
                await WindowCountsRepository(session).recount(
                    evaluation.id,
                    (evaluation.panel, evaluation.rubric_id, evaluation.created_at),
                    evaluation.window_key,
                    row_key(evaluation, votes),
                )
            by_key = _actor(who, by.name)
            extra = {
                "value": value,
                "stage": stage,
                "outcome": agreed.outcome,
                "as_admin": as_admin,
            }
            audit = await _record(session, "decided", by_key, item_id, by.name, extra)
            if agreed.outcome == "final":
                votes = await EvaluationRepository(session).votes(evaluation.id)
                human = _verdict(evaluation)
                replaced = panel_verdict["value"] != human["value"]
                await audit.append(
                    "overridden" if replaced else "confirmed",
                    by_key,
                    "evaluation",
                    evaluation.id,
                    record_sha256=evaluation_digest(evaluation, votes),
                    before=panel_verdict,
                    after=human,
                    evaluation_id=evaluation.id,
                    panel=evaluation.panel,
                )
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
            return await self._public(session, row, by)

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
        self, session: AsyncSession, row: ReviewItemRow, by: Reader
    ) -> ReviewItemPublic:
        evaluations = EvaluationRepository(session)
        evaluation = await evaluations.get(row.evaluation_id)
        assert evaluation is not None
        votes = await evaluations.votes(row.evaluation_id)
        decisions = await ReviewRepository(session).decisions(row.id)
        panel = self.config.panels.get(row.panel)
        rubric = self.config.rubrics.get(evaluation.rubric_id)
        return blind.view(
            row,
            present.evaluation(evaluation, [present.vote(v) for v in votes], row),
            decisions,
            present.rubric(rubric) if rubric else None,
            blind_panel=panel.blind_review if panel else True,
            by=by,
            pairwise=evaluation.kind == "comparison",
        )


def _counted_once(name: str | None, item_id: str, decisions: Sequence[ReviewDecisionRow]) -> None:
    """Refuse (409) a second decision by one reviewer on an item, at any stage."""
    if any(d.reviewer == name for d in decisions):
        raise Conflict(f"{name!r} already decided item {item_id}: one reviewer counts once")
