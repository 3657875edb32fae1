"""Assessments: one input judged on every criterion of a profile at once.

The assessment is stored first; then every criterion is submitted concurrently to the
evaluator as an ordinary evaluation on its own panel (its own routing, review item and
votes), linked by `assessment_id`. Nothing waits for a criterion routed to humans: the
answer carries the others decided and that one `in_review`. The compliance figures are
computed from the criteria whenever the assessment is read (`routing.compliance`), so a
human verdict on one criterion shows at once; it also re-sends the assessment's webhook
(`assessment.updated`). `assessment.completed` is sent once, by whichever worker
concludes the last criterion (a conditional UPDATE picks one).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid

from api.config import QuorumConfig
from api.errors import Conflict, InvalidInput, NotFound
from api.metrics import Metrics
from api.profiles import Profile
from api.schemas.assessments import (
    AssessmentCreate,
    AssessmentPublic,
    CompliancePublic,
    CriterionPublic,
)
from api.services import present, records
from api.services.admission import Ticket
from api.services.evaluator import EvaluationService
from api.services.webhook_targets import BlockedTarget
from api.services.webhooks import WebhookSender, delivery
from api.store import EVERYTHING, AsyncSession, IntegrityError, Reach, SessionFactory
from api.store.assessments import AssessmentRepository
from api.store.audit_log import Actor
from api.store.evaluations import EvaluationRepository
from api.store.tables import AssessmentRow, EvaluationRow, utcnow
from routing.compliance import Compliance, CriterionState, compliance
from rubrics import ItemError, item_from
from rubrics.guidance import guidance_text


def _digest(request: AssessmentCreate) -> str:
    body = request.model_dump(mode="json", exclude=records.digest_exclude(request))
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class AssessmentService:
    """Judges inputs on profiles through the evaluator and answers their compliance."""

    def __init__(
        self,
        config: QuorumConfig,
        sessions: SessionFactory,
        evaluator: EvaluationService,
        *,
        metrics: Metrics | None = None,
        webhooks: WebhookSender | None = None,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.evaluator = evaluator
        self.metrics = metrics
        self.webhooks = webhooks
        evaluator.concluded = self.concluded

    async def submit(
        self,
        request: AssessmentCreate,
        *,
        wait: bool = True,
        api_key_id: str | None = None,
        ticket: Ticket | None = None,
        tenant: str | None = None,
        actor: Actor | None = None,
    ) -> AssessmentPublic:
        """Judge `request.input` on every criterion of its profile, concurrently. With
        `wait=False` the answer comes as soon as everything is stored (`pending`). The
        assessment and its criteria belong to `tenant` (the key's), as evaluations do."""
        nul = request.nul_at()
        if nul is not None:
            raise InvalidInput(f"{nul} holds a NUL (U+0000) character, which is not allowed")
        profile = self.config.profile(request.profile)
        self._check(profile, request)
        if request.webhook_url is not None:  # as an evaluation's is: refused at once
            try:
                await self.evaluator.webhook_guard.check(request.webhook_url)
            except BlockedTarget as exc:
                raise InvalidInput(f"webhook_url refused: {exc}") from exc
        digest = _digest(request)
        if request.idempotency_key is not None:
            existing = await self._replay(request.idempotency_key, digest, tenant)
            if existing is not None:
                return await self._settled(existing) if wait else existing
        own = ticket is None
        ticket = ticket or self.evaluator.admission.admit(len(profile.criteria), panel="(profile)")
        try:
            row = self._new(profile, request, digest, api_key_id)
            row.tenant, row.idempotency_tenant = tenant, tenant or ""
            try:
                async with self.sessions() as session:
                    AssessmentRepository(session).add(row)
                    await session.commit()
            except IntegrityError:
                existing = await self._replay(request.idempotency_key or "", digest, tenant)
                if existing is None:
                    raise
                return await self._settled(existing) if wait else existing
            guidance = guidance_text(profile.use_case, profile.guidance) or None
            await asyncio.gather(
                *(
                    self.evaluator.submit(
                        "evaluation",
                        request.criterion(c.panel),
                        wait=wait,
                        api_key_id=api_key_id,
                        ticket=ticket,
                        assessment_id=row.id,
                        guidance=guidance,
                        tenant=tenant,
                        actor=actor,
                    )
                    for c in profile.criteria
                )
            )
        finally:
            if own:
                ticket.close()
        return await self.get(row.id)

    async def _settled(self, assessment: AssessmentPublic) -> AssessmentPublic:
        """A synchronous replay's answer: once its criteria conclude, waiting for each as a
        replayed evaluation does, and for criteria not stored yet (a concurrent twin is
        storing them), for at most the longest lease of the profile's panels; still
        pending then, the route answers 202 with its Location."""
        panels = [self.config.panels.get(c.panel) for c in assessment.criteria]
        within = max((self.evaluator.leases.length_s(p) for p in panels if p), default=0.0)
        ends = time.monotonic() + within
        while assessment.status == "pending" and time.monotonic() < ends:
            pending = [
                c.evaluation
                for c in assessment.criteria
                if c.evaluation is not None and c.evaluation.status == "pending"
            ]
            if pending:
                await asyncio.gather(*(self.evaluator.settled(e) for e in pending))
            else:  # criteria not stored yet
                await asyncio.sleep(0.1)
            assessment = await self.get(assessment.id)
        return assessment

    def _check(self, profile: Profile, request: AssessmentCreate) -> None:
        """Refuse, before anything is stored, an input some criterion cannot judge."""
        try:
            item = item_from(request.input.model_dump(exclude_none=True))
        except ItemError as exc:
            raise InvalidInput(str(exc)) from exc
        for c in profile.criteria:
            try:
                item.check_for(self.config.rubrics[c.rubric])
            except ItemError as exc:
                raise InvalidInput(f"criterion {c.panel!r}: {exc}") from exc

    @staticmethod
    def _new(
        profile: Profile, request: AssessmentCreate, digest: str, api_key_id: str | None
    ) -> AssessmentRow:
        return AssessmentRow(
            id=uuid.uuid4().hex,
            profile=profile.name,
            input=request.input.model_dump(mode="json", exclude_none=True),
            request_metadata=request.metadata,
            app=request.metadata.get("app"),
            subject_model=request.subject.model if request.subject else None,
            subject_version=request.subject.version if request.subject else None,
            use_case=request.use_case,
            criteria=[c.model_dump() for c in profile.criteria],
            min_score=profile.min_score,
            idempotency_key=request.idempotency_key,
            request_sha256=digest,
            webhook_url=request.webhook_url,
            api_key_id=api_key_id,
            created_at=utcnow(),
        )

    async def _replay(
        self, key: str, digest: str, tenant: str | None = None
    ) -> AssessmentPublic | None:
        async with self.sessions() as session:
            row = await AssessmentRepository(session).by_idempotency_key(key, tenant)
            if row is None:
                return None
            if row.request_sha256 != digest:
                raise Conflict(
                    f"idempotency key {key!r} was used for a different request "
                    f"(assessment {row.id})"
                )
            public, _ = await self._present(session, row)
            return public

    async def get(self, assessment_id: str, reach: Reach = EVERYTHING) -> AssessmentPublic:
        """The assessment, if `reach` (the caller's tenant and panels) sees it; 404 else."""
        async with self.sessions() as session:
            row = await AssessmentRepository(session).get(assessment_id)
            if row is None or not all(reach.sees(row.tenant, c["panel"]) for c in row.criteria):
                raise NotFound(f"no assessment with id {assessment_id!r}")
            public, _ = await self._present(session, row)
            return public

    async def _present(
        self, session: AsyncSession, row: AssessmentRow
    ) -> tuple[AssessmentPublic, Compliance]:
        """The assessment with every criterion's evaluation and the compliance now."""
        repo = AssessmentRepository(session)
        evaluations = {e.panel: e for e in await repo.evaluations(row.id)}
        ids = [e.id for e in evaluations.values()]
        criteria_rows = EvaluationRepository(session)
        votes = await criteria_rows.votes_of(ids)
        reviews = {r.evaluation_id: r for r in await criteria_rows.review_items_of(ids)}
        criteria: list[CriterionPublic] = []
        states: list[CriterionState] = []
        for c in row.criteria:
            evaluation = evaluations.get(c["panel"])
            shown = None
            if evaluation is not None:
                shown = present.evaluation(
                    evaluation,
                    [present.vote(v) for v in votes if v.evaluation_id == evaluation.id],
                    reviews.get(evaluation.id),
                )
            criteria.append(
                CriterionPublic(
                    panel=c["panel"],
                    rubric=c["rubric"],
                    weight=c["weight"],
                    must_pass=c["must_pass"],
                    evaluation=shown,
                )
            )
            states.append(self._state(c, evaluation))
        result = compliance(states, row.min_score)
        public = AssessmentPublic(
            id=row.id,
            profile=row.profile,
            status=result.status,
            compliance=CompliancePublic(
                score=result.score,
                compliant=result.compliant,
                min_score=result.min_score,
                decided=result.decided,
                in_review=result.in_review,
                not_applicable=result.not_applicable,
                pending=result.pending,
                failed=result.failed,
                failing=list(result.failing),
            ),
            criteria=criteria,
            metadata=row.request_metadata or {},
            subject=present.subject(row),
            use_case=row.use_case,
            idempotency_key=row.idempotency_key,
            webhook_url=row.webhook_url,
            created_at=row.created_at,
            completed_at=row.completed_at,
        )
        return public, result

    def _state(self, criterion: dict[str, object], row: EvaluationRow | None) -> CriterionState:
        name, weight = str(criterion["panel"]), float(str(criterion["weight"]))
        must = bool(criterion["must_pass"])
        if row is None:  # not stored yet (being submitted)
            return CriterionState(name=name, weight=weight, must_pass=must, status="pending")
        rubric = self.config.rubrics.get(row.rubric_id)
        na = rubric is not None and rubric.is_not_applicable(row.verdict_value)
        decided = row.status == "decided"
        return CriterionState(
            name=name,
            weight=weight,
            must_pass=must,
            status=row.status,
            compliant=row.verdict_compliant if decided else None,
            not_applicable=decided and na,
        )

    async def concluded(self, assessment_id: str) -> None:
        """One criterion concluded: once all have, queue `assessment.completed` (once)."""
        async with self.sessions() as session:
            repo = AssessmentRepository(session)
            row = await repo.get(assessment_id)
            if row is None or row.completed_at is not None:
                return
            public, result = await self._present(session, row)
            if result.pending or not await repo.mark(assessment_id, "completed_at"):
                return
            public = public.model_copy(update={"completed_at": utcnow()})
            hook = self._queue(session, row, "assessment.completed", public)
            counted = await self._count_once(repo, row, result)
            await session.commit()
        self._after(hook, counted, row, result)

    async def changed(self, session: AsyncSession, assessment_id: str) -> bool:
        """A human verdict changed one criterion (inside the review's transaction): queue
        `assessment.updated` with the recomputed assessment. True when a webhook was
        queued (the caller wakes the sender once it has committed)."""
        repo = AssessmentRepository(session)
        row = await repo.get(assessment_id)
        if row is None:
            return False
        public, result = await self._present(session, row)
        hook = self._queue(session, row, "assessment.updated", public)
        counted = await self._count_once(repo, row, result)
        self._after(False, counted, row, result)
        return hook

    @staticmethod
    def _queue(
        session: AsyncSession, row: AssessmentRow, event: str, public: AssessmentPublic
    ) -> bool:
        if not row.webhook_url:
            return False
        payload = public.model_dump(mode="json")
        session.add(delivery(row.id, row.webhook_url, event, payload, row.api_key_id))
        return True

    @staticmethod
    async def _count_once(
        repo: AssessmentRepository, row: AssessmentRow, result: Compliance
    ) -> bool:
        """Whether this is the first time the compliance verdict is known (metrics)."""
        return result.compliant is not None and await repo.mark(row.id, "decided_at")

    def _after(self, hook: bool, counted: bool, row: AssessmentRow, result: Compliance) -> None:
        if hook and self.webhooks:
            self.webhooks.wake()
        if counted and self.metrics is not None:
            self.metrics.observe_assessment(
                row.profile,
                result.compliant,
                result.score,
                model=row.subject_model,
                use_case=row.use_case,
            )
