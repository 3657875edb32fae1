"""The evaluator: accept, persist, judge, conclude, persist again.

An accepted request is committed (status `pending`, with a lease) before any judge is
called, so a crash leaves a visible record. `Admission` decides whether there is room
for it; `Leases` keeps the lease of everything this process holds ahead of the clock;
`resume_stale` picks up records whose lease ran out (their process died) and judges them
again, or marks them failed after `MAX_RUNS` tries; each worker writes only in the run
it holds (`api.services.leases`). This module owns its short
transactions on purpose: the acceptance must be durable before the judges are called,
which a request-scoped session committing at the end cannot give. The rows themselves
are built by `api.services.records`, the outcome's transaction is `api.services.outcomes`,
and reads go through `api.services.evaluation_reads`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from api.config import PanelConfig, QuorumConfig
from api.errors import InvalidInput
from api.metrics import Metrics
from api.schemas import ComparisonCreate, EvaluationCreate, EvaluationFilters, EvaluationPublic
from api.services import asking, evaluation_reads, outcomes, present, records, trail
from api.services.admission import Admission, Ticket
from api.services.leases import Leases
from api.services.records import Kind
from api.services.webhook_targets import BlockedTarget, WebhookGuard
from api.services.webhooks import WebhookSender
from api.store import EVERYTHING, IntegrityError, Reach, SessionFactory, inline_writes
from api.store.audit_log import Actor
from api.store.evaluations import EvaluationRepository
from api.store.tables import EvaluationRow, utcnow
from judges import PanelRunner, Vote
from routing import Aggregation, RoutingPolicy, conclude
from routing.jury import JuryModel
from rubrics import Item, ItemError, Mode, Rubric, item_from
from rubrics.redact import Redactor

log = logging.getLogger("quorum.evaluate")

MAX_RUNS = 3
"""Judging attempts (first run plus resumes) before an evaluation is marked failed."""


def _log_failure(task: asyncio.Task[EvaluationPublic]) -> None:
    """Background judging already marked the evaluation failed; keep the error visible."""
    if not task.cancelled() and task.exception() is not None:
        log.error("background evaluation failed: %s", task.exception())


class EvaluationService:
    """Judges requests on configured panels and keeps every accepted one."""

    def __init__(
        self,
        config: QuorumConfig,
        sessions: SessionFactory,
        runner: PanelRunner,
        admission: Admission,
        leases: Leases,
        *,
        metrics: Metrics | None = None,
        weights: Callable[[str], dict[str, float] | None] | None = None,
        policy: Callable[[str, RoutingPolicy], RoutingPolicy] | None = None,
        jury: Callable[[str], tuple[int, JuryModel | None]] | None = None,
        redactor: Redactor | None = None,
        webhooks: WebhookSender | None = None,
        webhook_guard: WebhookGuard | None = None,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.runner = runner
        self.admission = admission
        self.leases = leases
        self.metrics = metrics
        self.weights = weights
        """Where `weighted` panels get their estimated reliability weights."""
        self.policy = policy
        """The routing policy in force (the configured one, with a calibrated threshold)."""
        self.jury = jury
        """The jury model in force per panel, as (version, model)."""
        self.redactor = redactor
        self.webhooks = webhooks
        self.webhook_guard = webhook_guard or WebhookGuard()
        """Checks `webhook_url` at request time (delivery checks it again)."""
        self.concluded: Callable[[str], Awaitable[None]] | None = None
        """Called with the assessment id when one of its criteria concludes (or fails)."""
        self._running: dict[str, asyncio.Task[EvaluationPublic]] = {}
        """The judging this process holds, by evaluation id."""

    def panel(self, name: str, kind: Kind) -> tuple[PanelConfig, Rubric]:
        panel, rubric = self.config.panel_rubric(name)
        pairwise = kind == "comparison"
        if (rubric.mode is Mode.PAIRWISE) is not pairwise:
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
        tenant: str | None = None,
        actor: Actor | None = None,
        assessment_id: str | None = None,
        guidance: str | None = None,
    ) -> EvaluationPublic:
        """Judge one request, or return the stored evaluation for a repeated idempotency key
        (with `wait`, once it concludes: `settled`). With `wait=False` the evaluation is
        returned as soon as it is stored (`pending`) and judged in the background; a
        restart resumes it (its lease runs out). Raises
        `Overloaded` when this process holds all it may, unless the caller already made
        room with `admit` and passes its `ticket` (as a batch does for all its items).
        The evaluation belongs to `tenant` (the key's); its idempotency key is looked up
        among that tenant's only.
        `actor` (the caller) is recorded in the audit trail's `submitted` event.
        An assessment passes its id (stored with the evaluation) and its profile's
        `guidance`, given to the judges after the panel's own."""
        nul = request.nul_at()
        if nul is not None:
            raise InvalidInput(f"{nul} holds a NUL (U+0000) character, which is not allowed")
        panel, rubric = self.panel(request.panel, kind)
        fields = request.input.model_dump(exclude_none=True)
        if self.redactor and panel.redact:
            fields = {k: records.redacted(self.redactor, v) for k, v in fields.items()}
        try:
            item = item_from(fields)
            item.check_for(rubric)
        except ItemError as exc:
            raise InvalidInput(str(exc)) from exc
        if request.webhook_url is not None:
            try:
                await self.webhook_guard.check(request.webhook_url)
            except BlockedTarget as exc:
                raise InvalidInput(f"webhook_url refused: {exc}") from exc
        digest = records.request_digest(kind, request)
        key = request.idempotency_key
        if key is not None:
            existing = await evaluation_reads.replay(self.sessions, key, digest, tenant)
            if existing is not None:
                return await self.settled(existing, panel) if wait else existing
        own = ticket is None
        ticket = ticket if ticket is not None else self.admission.admit(panel=panel.name)
        twin: EvaluationPublic | None = None
        try:
            lease_s = self.leases.length_s(panel)
            row = records.new_evaluation(
                kind,
                request,
                panel,
                rubric,
                fields,
                digest,
                api_key_id,
                lease_until=self.leases.until(panel),
                tenant=tenant,
                assessment_id=assessment_id,
                guidance="\n".join(g for g in (panel.guidance_text, guidance or "") if g) or None,
            )
            try:
                with inline_writes():  # a short transaction: see api.store.inline_writes
                    async with self.sessions() as session:
                        await EvaluationRepository(session).insert(row)
                        who = actor or Actor(api_key_id, api_key_id or "open")
                        await trail.submitted(session, who, row)
                        await session.commit()
            except IntegrityError:
                if key is None:
                    raise
                twin = await evaluation_reads.replay(self.sessions, key, digest, tenant)
                if twin is None:
                    raise
        finally:
            ticket.use()  # stored (now held below), a twin's or failed: no longer reserved
            if own:
                ticket.close()
        if twin is not None:  # a concurrent twin won: answered as a replay
            return await self.settled(twin, panel) if wait else twin
        task = self._start(row, lease_s, panel, rubric, item)
        if not wait:
            task.add_done_callback(_log_failure)
            return present.evaluation(row, [], None)
        judged = await evaluation_reads.judged(self.sessions, task, row.id)
        return await self.settled(judged, panel)

    async def settled(
        self, evaluation: EvaluationPublic, panel: PanelConfig | None = None
    ) -> EvaluationPublic:
        """A synchronous request's answer when the evaluation is still pending (a replay
        of a key whose first request is still judged, here or on another replica, or
        whose replica died; or taken over meanwhile): wait for it to conclude, at most one
        lease of its panel (what a new request could wait); if it is still pending then,
        the route answers 202 with its Location. `panel`: the evaluation's (by default)."""
        panel = panel or self.config.panels.get(evaluation.panel)
        if panel is None or evaluation.status != "pending":
            return evaluation
        within_s = self.leases.length_s(panel)
        return await evaluation_reads.settled(self.sessions, evaluation, within_s, self._running)

    def _start(
        self, row: EvaluationRow, lease_s: float, panel: PanelConfig, rubric: Rubric, item: Item
    ) -> asyncio.Task[EvaluationPublic]:
        """Judge a stored evaluation in a task this process holds until it ends, in the run
        `row.runs` (this worker's copy: 1 when accepted here, the run taken over else)."""
        evaluation_id = row.id
        self.leases.hold(evaluation_id, lease_s, row.runs)
        if row.guidance:  # the judges see it among their instructions
            rubric = rubric.model_copy(update={"guidance": row.guidance})
        task = asyncio.create_task(self._judge(row, panel, rubric, item))
        self._running[evaluation_id] = task

        def release(done: asyncio.Task[EvaluationPublic]) -> None:
            if self._running.get(evaluation_id) is done:
                del self._running[evaluation_id]
            self.leases.release(evaluation_id)

        task.add_done_callback(release)
        return task

    async def get(self, evaluation_id: str, reach: Reach = EVERYTHING) -> EvaluationPublic:
        """The evaluation, if `reach` sees it (`evaluation_reads.get`)."""
        return await evaluation_reads.get(self.sessions, evaluation_id, reach)

    async def list(
        self, reach: Reach, filters: EvaluationFilters, limit: int = 50, offset: int = 0
    ) -> tuple[list[EvaluationPublic], int]:
        """One page of what `reach` sees, and how many match (`evaluation_reads.page`)."""
        return await evaluation_reads.page(self.sessions, reach, filters, limit, offset)

    async def _judge(
        self, row: EvaluationRow, panel: PanelConfig, rubric: Rubric, item: Item
    ) -> EvaluationPublic:
        """Ask the panel about a stored `pending` evaluation (`row`, in no session) and
        store the outcome."""
        try:
            async with self.admission.slots:
                started = time.monotonic()
                votes = await self._ask(panel, rubric, item, row.id)
                self.admission.judged(time.monotonic() - started)
            return await self._complete(row, panel, rubric, votes)
        except Exception as exc:
            log.exception("evaluation %s failed", row.id)
            why = f"internal error while judging: {type(exc).__name__}"
            await self._fail(row.id, why, row.runs)
            raise

    async def _ask(
        self, panel: PanelConfig, rubric: Rubric, item: Item, seed: str
    ) -> tuple[Vote, ...]:
        """The panel's votes, with what is in force for it (`api.services.asking`)."""
        return await asking.ask(
            self.runner,
            self.config,
            panel,
            rubric,
            item,
            seed,
            weights=self._weights(panel),
            jury=self._jury(panel.name)[1] if panel.aggregation is Aggregation.JURY else None,
            in_force=self.policy(panel.name, panel.routing) if self.policy else None,
        )

    def _jury(self, panel: str) -> tuple[int, JuryModel | None]:
        """(version, model) of the jury model in force for `panel` (0, None: cold start)."""
        return self.jury(panel) if self.jury else (0, None)

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
        transaction (retried while the database is out and the lease lasts), unless the
        evaluation is no longer pending in this worker's run (another worker finished it
        first, or took it over): then the stored result is returned."""
        version, model = (
            self._jury(panel.name) if panel.aggregation is Aggregation.JURY else (None, None)
        )
        verdict = conclude(
            rubric,
            votes,
            aggregation=panel.aggregation,
            quorum=panel.effective_quorum,
            policy=self.policy(panel.name, panel.routing) if self.policy else panel.routing,
            weights=self._weights(panel),
            audit_draw=row.audit_draw,
            jury=model,
        )
        outcome = records.outcome(verdict, jury_version=version)
        now = outcome["completed_at"]
        vote_rows = [records.vote_values(row.id, v, self._params(v), now) for v in votes]
        review = records.review_item(row, panel, verdict, now)
        public, concluded = await outcomes.persist(
            lambda: outcomes.store_verdict(self.sessions, row, votes, outcome, vote_rows, review),
            lambda: self.leases.left_s(row.id),
            f"the outcome of evaluation {row.id}",
        )
        if not concluded:
            return public
        if row.webhook_url and self.webhooks:
            self.webhooks.wake()
        if self.metrics is not None:
            try:  # stored: counting it must not turn the answer into an error
                self.metrics.observe(
                    panel.name,
                    rubric,
                    row.app,
                    verdict,
                    votes,
                    model=row.subject_model,
                    use_case=row.use_case,
                )
            except Exception:
                log.exception("could not count evaluation %s in the metrics", row.id)
        await self._assessment(row.assessment_id)
        return public

    async def _assessment(self, assessment_id: str | None) -> None:
        """Tell the assessment service that one of its criteria concluded."""
        if assessment_id is None or self.concluded is None:
            return
        try:
            await self.concluded(assessment_id)
        except Exception:  # the evaluation is stored; the assessment is recomputed on read
            log.exception("could not update assessment %s", assessment_id)

    def _params(self, vote: Vote) -> dict[str, object]:
        """The completion params of the judge that cast `vote` (stored with the vote)."""
        judge = self.config.judges.get(vote.judge)
        return dict(judge.params) if judge else {}

    async def _fail(self, evaluation_id: str, reason: str, run: int) -> None:
        """Mark a pending evaluation failed with `reason` (and queue its webhook), unless
        it is no longer pending in `run`: a conditional UPDATE, so a replica that completed
        or took it over in the meantime keeps its result."""
        try:
            row = await outcomes.persist(
                lambda: outcomes.store_failure(self.sessions, evaluation_id, reason, run),
                lambda: self.leases.left_s(evaluation_id),
                f"the failure of evaluation {evaluation_id}",
            )
            if row is not None:
                if self.metrics is not None:
                    self.metrics.failed.labels(row.panel).inc()
                await self._assessment(row.assessment_id)
        except Exception:  # the lease will expire and a sweeper will retry or fail it
            log.exception("could not mark evaluation %s failed", evaluation_id)

    async def resume_stale(self) -> int:
        """Start judging again (or fail) pending evaluations whose worker died, as many as
        this process has room for; they are judged concurrently, in the background, under
        the same slots as new work. Returns how many were taken."""
        room = self.admission.room
        if room <= 0:
            return 0
        now = utcnow()
        async with self.sessions() as session:
            stale = list(await EvaluationRepository(session).stale_pending(now, limit=room))
        resumed = 0
        for row in stale:
            if row.id in self.leases:
                continue
            panel = self.config.panels.get(row.panel)
            if row.runs >= MAX_RUNS or panel is None or panel.rubric != row.rubric_id:
                why = (
                    f"interrupted {row.runs} times"
                    if panel is not None and row.runs >= MAX_RUNS
                    else f"panel {row.panel!r} or its rubric changed since it was accepted"
                )
                await self._fail(row.id, f"could not be completed: {why}", row.runs)
                continue
            rubric = self.config.rubrics[panel.rubric]
            run = await self.leases.take(row, panel)
            if run is None:
                continue
            row.runs = run  # this worker's run: the fence of all it writes
            log.info("resuming evaluation %s (run %d)", row.id, run)
            lease_s = self.leases.length_s(panel)
            self._start(row, lease_s, panel, rubric, Item(**row.input)).add_done_callback(
                _log_failure
            )
            resumed += 1
        return resumed

    async def drain(self) -> None:
        """Wait for judging in flight (at shutdown)."""
        if self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)
