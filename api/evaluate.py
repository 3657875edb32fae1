"""The evaluate service: accept, persist, judge, conclude, persist again.

An accepted request is committed (status `pending`, with a lease) before any judge is
called, so a crash leaves a visible record. While this process holds an evaluation
(queued for a judging slot or being judged) `renew_leases` keeps its lease ahead of the
clock; `resume_stale` picks up records whose lease ran out (their process died) and judges
them again, or marks them failed after `MAX_RUNS` tries. This module owns its short
transactions on purpose: the acceptance must be durable before the judges are called,
which a request-scoped session committing at the end cannot give.

Admission control: a process holds at most `max_concurrent` evaluations being judged plus
`max_queued` waiting for a slot. A request beyond that is refused with `Overloaded` (503,
`Retry-After`) before anything is stored, so an overloaded service answers quickly and
the work it did accept finishes within its deadline instead of queueing without bound.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError

from api import present
from api.config import PanelConfig, QuorumConfig
from api.db import SessionFactory
from api.errors import Conflict, InvalidInput, NotFound, Overloaded
from api.metrics import Metrics
from api.repository import EvaluationRepository
from api.schemas import ComparisonCreate, EvaluationCreate, EvaluationPublic
from api.tables import EvaluationRow, ReviewItemRow, utcnow
from api.webhooks import WebhookSender, delivery
from judges import PanelRunner, Vote
from routing import Aggregation, PanelVerdict, RoutingPolicy, conclude
from routing.sequential import stop_rule, waves
from rubrics import Item, ItemError, Mode, Rubric
from rubrics.redact import Redactor

log = logging.getLogger("quorum.evaluate")

Kind = Literal["evaluation", "comparison"]
MAX_RUNS = 3
"""Judging attempts (first run plus resumes) before an evaluation is marked failed."""


def _log_failure(task: asyncio.Task[EvaluationPublic]) -> None:
    """Background judging already marked the evaluation failed; keep the error visible."""
    if not task.cancelled() and task.exception() is not None:
        log.error("background evaluation failed: %s", task.exception())


def audit_draw(evaluation_id: str) -> float:
    """A uniform number in [0, 1) fixed by the id, so audit sampling is reproducible."""
    return int(hashlib.sha256(evaluation_id.encode()).hexdigest()[:13], 16) / 16**13


def request_digest(kind: Kind, request: EvaluationCreate | ComparisonCreate) -> str:
    body = {"kind": kind, **request.model_dump(mode="json", exclude={"idempotency_key"})}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class Ticket:
    """Room reserved by `EvaluationService.admit` for evaluations not yet stored. Each
    stored evaluation moves from the reservation to the evaluations held (`use`); closing
    the ticket gives back what was not used (items refused or replayed)."""

    def __init__(self, service: EvaluationService, n: int) -> None:
        self._service = service
        self.left = n

    def use(self) -> None:
        if self.left > 0:
            self.left -= 1
            self._service._reserved -= 1

    def close(self) -> None:
        self._service._reserved -= self.left
        self.left = 0

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EvaluationService:
    """Judges requests on configured panels and keeps every accepted one."""

    def __init__(
        self,
        config: QuorumConfig,
        sessions: SessionFactory,
        runner: PanelRunner,
        metrics: Metrics | None = None,
        weights: Callable[[str], dict[str, float] | None] | None = None,
        lease_grace_s: float = 30.0,
        redactor: Redactor | None = None,
        max_concurrent: int = 64,
        max_queued: int | None = None,
        webhooks: WebhookSender | None = None,
        policy: Callable[[str, RoutingPolicy], RoutingPolicy] | None = None,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.runner = runner
        self.metrics = metrics
        self.weights = weights
        """Where `weighted` panels get their estimated reliability weights."""
        self.lease_grace_s = lease_grace_s
        self.redactor = redactor
        self.webhooks = webhooks
        self.policy = policy
        """The routing policy in force (the configured one, with a calibrated threshold)."""
        self.max_concurrent = max_concurrent
        self.slots = asyncio.Semaphore(max_concurrent)
        """Evaluations judged at once, across single, batch, async and resumed work."""
        self.capacity = max_concurrent + (max_concurrent if max_queued is None else max_queued)
        """Evaluations this process holds at most (judged or waiting for a slot)."""
        self._held: dict[str, float] = {}
        """Evaluations this process holds, by id: their lease length (deadline + grace)."""
        self._reserved = 0
        """Admitted requests not yet stored (between admission and the insert)."""
        self._seconds = 1.0
        """Moving average of an evaluation's judging time, for `Retry-After`."""
        self._running: set[asyncio.Task[EvaluationPublic]] = set()

    @property
    def load(self) -> int:
        """Evaluations held or admitted by this process."""
        return len(self._held) + self._reserved

    def admit(self, n: int = 1, panel: str = "") -> Ticket:
        """Reserve room for `n` new evaluations, or raise `Overloaded` (nothing is stored).
        The room is held until each evaluation is stored (`Ticket.use`) or the ticket is
        closed; use the ticket as a context manager."""
        if self.load + n <= self.capacity:
            self._reserved += n
            return Ticket(self, n)
        if self.metrics is not None:
            self.metrics.refused.labels(panel).inc(n)
        waiting = max(self.load - self.max_concurrent, 0) + n
        retry = math.ceil(self._seconds * waiting / self.max_concurrent)
        raise Overloaded(
            f"{self.load} evaluations are being judged or queued here (capacity "
            f"{self.capacity}); retry later",
            retry_after_s=min(max(retry, 1), 60),
        )

    def panel(self, name: str, kind: Kind) -> tuple[PanelConfig, Rubric]:
        panel = self.config.panels.get(name)
        if panel is None:
            known = ", ".join(sorted(self.config.panels))
            raise NotFound(f"no panel named {name!r} (configured: {known})")
        rubric = self.config.rubrics[panel.rubric]
        want = Mode.PAIRWISE if kind == "comparison" else Mode.POINTWISE
        if rubric.mode is not want:
            other = "/v1/comparisons" if rubric.mode is Mode.PAIRWISE else "/v1/evaluations"
            raise InvalidInput(f"panel {name!r} is {rubric.mode.value}: use {other}")
        return panel, rubric

    async def submit(
        self,
        kind: Kind,
        request: EvaluationCreate | ComparisonCreate,
        *,
        wait: bool = True,
        api_key_id: str | None = None,
        ticket: Ticket | None = None,
    ) -> EvaluationPublic:
        """Judge one request, or return the stored evaluation for a repeated idempotency key.
        With `wait=False` the evaluation is returned as soon as it is stored (`pending`) and
        judged in the background; a restart resumes it (its lease runs out). Raises
        `Overloaded` when this process holds all it may, unless the caller already made
        room with `admit` and passes its `ticket` (as a batch does for all its items)."""
        nul = request.nul_at()
        if nul is not None:
            raise InvalidInput(f"{nul} holds a NUL (U+0000) character, which is not allowed")
        panel, rubric = self.panel(request.panel, kind)
        fields = request.input.model_dump(exclude_none=True)
        if self.redactor and panel.redact:
            fields = {k: self.redactor(v) for k, v in fields.items()}
        item = Item(**fields)
        try:
            item.check_for(rubric)
        except ItemError as exc:
            raise InvalidInput(str(exc)) from exc
        digest = request_digest(kind, request)
        key = request.idempotency_key
        if key is not None:
            existing = await self._replay(key, digest)
            if existing is not None:
                return existing
        own = ticket is None
        ticket = ticket if ticket is not None else self.admit(panel=panel.name)
        try:
            row, lease_s = self._new_row(kind, request, panel, rubric, fields, digest, api_key_id)
            try:
                async with self.sessions() as session:
                    await EvaluationRepository(session).insert(row)
                    await session.commit()
            except IntegrityError:
                if key is None:
                    raise
                existing = await self._replay(key, digest)  # a concurrent twin won the race
                if existing is None:
                    raise
                return existing
        finally:
            ticket.use()  # stored (now held below) or failed: no longer reserved
            if own:
                ticket.close()
        # Shielded: a client that hangs up does not abandon a judged-half evaluation.
        task = self._start(row, lease_s, panel, rubric, item)
        if not wait:
            task.add_done_callback(_log_failure)
            return present.evaluation(row, [], None)
        try:
            return await asyncio.shield(task)
        except Exception:
            # Judging failed inside the service: the evaluation was marked failed with the
            # reason (answer it, as a poll would); if even that could not be stored (the
            # database is down), the error itself is the answer (503).
            stored = await self._stored(row.id)
            if stored is None or stored.status != "failed":
                raise
            return stored

    def _new_row(
        self,
        kind: Kind,
        request: EvaluationCreate | ComparisonCreate,
        panel: PanelConfig,
        rubric: Rubric,
        fields: dict[str, str],
        digest: str,
        api_key_id: str | None,
    ) -> tuple[EvaluationRow, float]:
        """A new `pending` evaluation with its lease, and the lease's length."""
        now = utcnow()
        lease_s = self._lease_s(panel)
        row = EvaluationRow(
            id=uuid.uuid4().hex,
            kind=kind,
            panel=panel.name,
            rubric_id=rubric.id,
            rubric_version=rubric.version,
            status="pending",
            input=fields,
            request_metadata=request.metadata,
            app=request.metadata.get("app"),
            idempotency_key=request.idempotency_key,
            request_sha256=digest,
            webhook_url=request.webhook_url,
            api_key_id=api_key_id,
            audit_draw=0.0,
            runs=1,
            lease_until=now + timedelta(seconds=lease_s),
            created_at=now,
            updated_at=now,
        )
        row.audit_draw = audit_draw(row.id)
        return row, lease_s

    def _lease_s(self, panel: PanelConfig) -> float:
        """How long a worker's claim on judging one of `panel`'s evaluations lasts."""
        return panel.deadline_s + self.lease_grace_s

    def _start(
        self, row: EvaluationRow, lease_s: float, panel: PanelConfig, rubric: Rubric, item: Item
    ) -> asyncio.Task[EvaluationPublic]:
        """Judge a stored evaluation in a task this process holds until it ends."""
        evaluation_id = row.id
        self._held[evaluation_id] = lease_s
        task = asyncio.create_task(self._judge(row, panel, rubric, item))
        self._running.add(task)
        if self.metrics is not None:
            self.metrics.held.set(len(self._held))

        def release(done: asyncio.Task[EvaluationPublic]) -> None:
            self._running.discard(done)
            self._held.pop(evaluation_id, None)
            if self.metrics is not None:
                self.metrics.held.set(len(self._held))

        task.add_done_callback(release)
        return task

    async def get(self, evaluation_id: str) -> EvaluationPublic:
        stored = await self._stored(evaluation_id)
        if stored is None:
            raise NotFound(f"no evaluation with id {evaluation_id!r}")
        return stored

    @staticmethod
    async def _present(repo: EvaluationRepository, row: EvaluationRow) -> EvaluationPublic:
        """A stored evaluation with its votes and review item, as the API answers it."""
        votes = [present.vote(v) for v in await repo.votes(row.id)]
        return present.evaluation(row, votes, await repo.review_item(row.id))

    async def _replay(self, key: str, digest: str) -> EvaluationPublic | None:
        async with self.sessions() as session:
            repo = EvaluationRepository(session)
            row = await repo.by_idempotency_key(key)
            if row is None:
                return None
            if row.request_sha256 != digest:
                raise Conflict(
                    f"idempotency key {key!r} was used for a different request "
                    f"(evaluation {row.id})"
                )
            return await self._present(repo, row)

    async def _judge(
        self, row: EvaluationRow, panel: PanelConfig, rubric: Rubric, item: Item
    ) -> EvaluationPublic:
        """Ask the panel about a stored `pending` evaluation (`row`, in no session) and
        store the outcome."""
        try:
            async with self.slots:
                started = time.monotonic()
                votes = await self._ask(panel, rubric, item)
                self._seconds += (time.monotonic() - started - self._seconds) / 20
            return await self._complete(row, panel, rubric, votes)
        except Exception as exc:
            log.exception("evaluation %s failed", row.id)
            await self._fail(row.id, f"internal error while judging: {type(exc).__name__}")
            raise

    async def _ask(self, panel: PanelConfig, rubric: Rubric, item: Item) -> tuple[Vote, ...]:
        judges = self.config.panel_judges(panel)
        if panel.strategy == "parallel":
            return await self.runner.run(
                judges,
                rubric,
                item,
                deadline_s=panel.deadline_s,
                position_swap=panel.position_swap,
                scale_swap=panel.scale_swap,
                quorum=panel.effective_quorum,
                straggler_grace_s=panel.straggler_grace_s,
            )
        quorum = panel.effective_quorum
        stop = stop_rule(
            panel.strategy,
            rubric,
            panel.aggregation,
            self._weights(panel),
            quorum,
            panel.cascade_confidence,
        )
        return await self.runner.run_waves(
            waves(judges, panel.wave_size, quorum),
            rubric,
            item,
            deadline_s=panel.deadline_s,
            stop=stop,
            position_swap=panel.position_swap,
            scale_swap=panel.scale_swap,
        )

    def _weights(self, panel: PanelConfig) -> dict[str, float]:
        """Weighted panels: the reliability estimates in force, else the configured priors."""
        if panel.aggregation is not Aggregation.WEIGHTED:
            return {name: 1.0 for name in panel.judges}
        estimated = self.weights(panel.name) if self.weights else None
        if estimated:
            return {name: estimated.get(name, 1.0) for name in panel.judges}
        return {j.name: j.weight for j in self.config.panel_judges(panel)}

    async def _complete(
        self, row: EvaluationRow, panel: PanelConfig, rubric: Rubric, votes: tuple[Vote, ...]
    ) -> EvaluationPublic:
        """Store the verdict with the votes, the review item and the webhook in one
        transaction, unless the evaluation is no longer pending (another worker finished
        it first, after a resume): then the stored result is returned."""
        verdict = conclude(
            rubric,
            votes,
            aggregation=panel.aggregation,
            quorum=panel.effective_quorum,
            policy=self.policy(panel.name, panel.routing) if self.policy else panel.routing,
            weights=self._weights(panel),
            audit_draw=row.audit_draw,
        )
        outcome = self._outcome(verdict)
        vote_rows = [self._vote_values(row.id, v, outcome["completed_at"]) for v in votes]
        review = self._review(row, panel, verdict, outcome["completed_at"])
        async with self.sessions() as session:
            repo = EvaluationRepository(session)
            # Conditional: no read first, and no second writer can complete it twice.
            if not await repo.conclude(row.id, outcome):
                await session.rollback()  # read what the other worker stored, here
                stored = await repo.get(row.id)
                if stored is None:
                    raise NotFound(f"evaluation {row.id!r} vanished while being judged")
                return await self._present(repo, stored)
            for name, value in outcome.items():
                setattr(row, name, value)
            await repo.insert_votes(vote_rows)
            if review is not None:
                session.add(review)
            public = present.evaluation(row, [present.vote(v) for v in votes], review)
            if row.webhook_url:  # the outbox row commits with the result
                session.add(
                    delivery(
                        row.id,
                        row.webhook_url,
                        "evaluation.completed",
                        public.model_dump(mode="json"),
                        row.api_key_id,
                    )
                )
            await session.commit()
        if row.webhook_url and self.webhooks:
            self.webhooks.wake()
        if self.metrics is not None:
            self.metrics.observe(panel.name, rubric, row.app, verdict, votes)
        return public

    async def _stored(self, evaluation_id: str) -> EvaluationPublic | None:
        """The stored evaluation as the API answers it, or None."""
        async with self.sessions() as session:
            repo = EvaluationRepository(session)
            row = await repo.get(evaluation_id)
            return None if row is None else await self._present(repo, row)

    @staticmethod
    def _outcome(verdict: PanelVerdict) -> dict[str, Any]:
        """The columns a concluded evaluation sets."""
        now = utcnow()
        return {
            "status": "in_review" if verdict.routing.decision == "human" else "decided",
            "verdict_value": verdict.value,
            "verdict_compliant": verdict.compliant,
            "verdict_source": "panel" if verdict.value is not None else None,
            "confidence": verdict.confidence,
            "agreement": verdict.agreement.model_dump(),
            "outcome": {
                "panel_value": verdict.value,
                "panel_compliant": verdict.compliant,
                "distribution": verdict.distribution,
                "judges": [j.model_dump(mode="json") for j in verdict.judges],
                "weights": verdict.weights,
            },
            "routing_decision": verdict.routing.decision,
            "routing_reasons": [r.model_dump(mode="json") for r in verdict.routing.reasons],
            "lease_until": None,
            "updated_at": now,
            "completed_at": now,
        }

    @staticmethod
    def _review(
        row: EvaluationRow, panel: PanelConfig, verdict: PanelVerdict, now: datetime
    ) -> ReviewItemRow | None:
        """The review item of an evaluation routed to humans."""
        if verdict.routing.decision != "human":
            return None
        return ReviewItemRow(
            id=uuid.uuid4().hex,
            evaluation_id=row.id,
            panel=row.panel,
            status="pending",
            required_reviews=panel.reviewers,
            uncertainty=round(1 - verdict.confidence, 12),
            reasons=[r.code.value for r in verdict.routing.reasons],
            created_at=now,
            updated_at=now,
        )

    def _vote_values(self, evaluation_id: str, vote: Vote, now: datetime) -> dict[str, Any]:
        """A vote's row (every column but the id), for `EvaluationRepository.insert_votes`."""
        judge = self.config.judges.get(vote.judge)
        return {
            "evaluation_id": evaluation_id,
            "judge": vote.judge,
            "model": vote.model,
            "family": vote.family,
            "params": dict(judge.params) if judge else {},
            "order": vote.order,
            "reversed_scale": vote.reversed_scale,
            "value": vote.value,
            "shown_value": vote.shown_value,
            "unscored": vote.unscored.value if vote.unscored else None,
            "error": vote.error.value if vote.error else None,
            "detail": vote.detail,
            "rationale": vote.rationale,
            "raw_output": vote.raw_output,
            "prompt_sha256": vote.prompt_sha256,
            "latency_ms": vote.latency_ms,
            "attempts": vote.attempts,
            "prompt_tokens": vote.prompt_tokens,
            "completion_tokens": vote.completion_tokens,
            "cost_usd": vote.cost_usd,
            "distribution": vote.distribution,
            "expected": vote.expected,
            "entropy": vote.entropy,
            "cached": vote.cached,
            "created_at": now,
        }

    async def _fail(self, evaluation_id: str, reason: str) -> None:
        """Mark a pending evaluation failed with `reason` (and queue its webhook), unless
        it is no longer pending: a conditional UPDATE, so a replica that completed it in
        the meantime keeps its result."""
        try:
            async with self.sessions() as session:
                now = utcnow()
                failed = await EvaluationRepository(session).conclude(
                    evaluation_id,
                    {
                        "status": "failed",
                        "error": reason,
                        "lease_until": None,
                        "updated_at": now,
                        "completed_at": now,
                    },
                )
                row = await session.get(EvaluationRow, evaluation_id) if failed else None
                if row is not None and row.webhook_url:
                    payload = present.evaluation(row, [], None).model_dump(mode="json")
                    session.add(
                        delivery(
                            row.id, row.webhook_url, "evaluation.failed", payload, row.api_key_id
                        )
                    )
                await session.commit()
        except Exception:  # the lease will expire and a sweeper will retry or fail it
            log.exception("could not mark evaluation %s failed", evaluation_id)

    async def renew_leases(self) -> int:
        """Move the lease of every evaluation this process holds (queued or being judged)
        ahead of the clock, so no replica mistakes a queued one for abandoned. Call it more
        often than the shortest lease (the lease grace is a lower bound). Returns how many
        leases were renewed."""
        by_length: dict[float, list[str]] = {}
        for evaluation_id, lease_s in list(self._held.items()):
            by_length.setdefault(lease_s, []).append(evaluation_id)
        renewed = 0
        async with self.sessions() as session:
            repo = EvaluationRepository(session)
            for lease_s, ids in by_length.items():
                renewed += await repo.renew_leases(ids, utcnow() + timedelta(seconds=lease_s))
            await session.commit()
        return renewed

    async def resume_stale(self) -> int:
        """Start judging again (or fail) pending evaluations whose worker died, as many as
        this process has room for; they are judged concurrently, in the background, under
        the same slots as new work. Returns how many were taken."""
        room = self.capacity - self.load
        if room <= 0:
            return 0
        now = utcnow()
        async with self.sessions() as session:
            stale = list(await EvaluationRepository(session).stale_pending(now, limit=room))
        resumed = 0
        for row in stale:
            if row.id in self._held:
                continue
            panel = self.config.panels.get(row.panel)
            if row.runs >= MAX_RUNS or panel is None or panel.rubric != row.rubric_id:
                why = (
                    f"interrupted {row.runs} times"
                    if panel is not None and row.runs >= MAX_RUNS
                    else f"panel {row.panel!r} or its rubric changed since it was accepted"
                )
                await self._fail(row.id, f"could not be completed: {why}")
                continue
            rubric = self.config.rubrics[panel.rubric]
            lease_s = self._lease_s(panel)
            until = utcnow() + timedelta(seconds=lease_s)
            async with self.sessions() as session:
                taken = await EvaluationRepository(session).take_lease(
                    row.id, row.lease_until, until
                )
                await session.commit()
            if not taken:
                continue
            log.info("resuming evaluation %s (run %d)", row.id, row.runs + 1)
            self._start(row, lease_s, panel, rubric, Item(**row.input)).add_done_callback(
                _log_failure
            )
            resumed += 1
        return resumed

    async def drain(self) -> None:
        """Wait for judging in flight (at shutdown)."""
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
