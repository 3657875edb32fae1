"""Governance: the drift sweep, the lifecycle policies, the models and the routing
recommendation, per tenant (docs/governance.md).

Every `governance.sweep_interval_s` each replica runs `tick`: the drift sweep (stored
CUSUM states, drift events; `api.services.drift`), then the policies for every subject
model it knows (seen in evaluations, or with a zone), then the gauges.
`POST /v1/models/{model}/evaluate` runs the sweep and one model's policies at once.

Policies (`routing.governance.evaluate`) read rate figures computed here
(`api.services.compliance`) and the model's drift events since it entered its zone (an
event before an admin put it back does not count again). The winning decision moves the
model (actor `policy:<name>`, the decision as the figures) and the policies are
evaluated again on the new zone, at most len(ZONES) times: a model qualifying for
validation and production in one pass gets both moves. A decision made on a zone that
another replica changed meanwhile is dropped (`Conflict`).

Scope: the caller's tenant sees its own rows; a caller of no tenant (open mode, keys of
every tenant) governs in scope "" over the rows of every tenant together.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import datetime, timedelta

from api.config import QuorumConfig
from api.errors import Conflict
from api.metrics import Metrics
from api.schemas.governance import (
    DriftEventPublic,
    EvaluateResult,
    ModelPublic,
    RecommendationPublic,
)
from api.services.compliance import ComplianceService, window_of
from api.services.drift import DriftSweep
from api.services.lifecycle import LifecycleService, move, scope_of, transition_public, zone_of
from api.store import EVERYTHING, Reach, SessionFactory
from api.store.audit_log import Actor
from api.store.drift import DriftRepository
from api.store.governance import GovernanceReads
from api.store.lifecycle import LifecycleRepository
from api.store.tables import DriftEventRow, DriftMonitorRow, ModelTransitionRow, utcnow
from routing.governance import (
    ZONES,
    Candidate,
    CusumState,
    DriftSignal,
    FigureKey,
    Figures,
    evaluate,
    format_window,
    rank,
    required_figures,
)

log = logging.getLogger("quorum.governance")


def reach_of(scope: str) -> Reach:
    """What the policies of `scope` read: the tenant's rows, or ("") every tenant's."""
    return Reach(tenant=scope or None)


def drift_public(row: DriftEventRow) -> DriftEventPublic:
    return DriftEventPublic(
        id=row.id,
        model=row.model,
        use_case=row.use_case,
        criterion=row.criterion,
        statistic=row.statistic,
        threshold=row.threshold,
        p0=row.p0,
        n_items=row.n_items,
        evaluation_id=row.evaluation_id,
        created_at=row.created_at,
    )


class GovernanceService:
    """Runs the sweep and the policies, and answers models, drift and recommendations."""

    def __init__(
        self,
        config: QuorumConfig,
        sessions: SessionFactory,
        lifecycle: LifecycleService,
        compliance: ComplianceService,
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.lifecycle = lifecycle
        self.compliance = compliance
        self.metrics = metrics
        self.drift = DriftSweep(config, sessions, self._observe)
        self._running = asyncio.Lock()
        self._published = False
        """One pass at a time in this process: an on-demand evaluation answers the
        transitions the policies made, not finding them made by the background pass."""

    def _observe(self, row: DriftMonitorRow, state: CusumState, alarms: int) -> None:
        if self.metrics is not None:
            self.metrics.observe_drift(
                row.scope, row.model, row.use_case or None, row.criterion, state.statistic, alarms
            )

    async def tick(self) -> list[ModelTransitionRow]:
        """One background pass: the sweep, every known model's policies, the gauges."""
        moved: list[ModelTransitionRow] = []
        async with self._running:
            if not self._published:  # this process's first pass: every stored stream
                await self._publish_stored()
            await self.drift.sweep()
            if self.config.policies:
                for scope, model in await self._known():
                    try:
                        moved += await self._apply(scope, model)
                    except Exception:  # one model's failure does not hold up the others
                        log.exception("policies for %s (scope %r) failed", model, scope)
        await self.refresh_gauges()
        return moved

    async def _publish_stored(self) -> None:
        """Set the drift gauges of every stored stream, so that after a restart they are
        there before the stream's next verdict (they were absent until then)."""
        async with self.sessions() as session:
            monitors = await DriftRepository(session).all_monitors()
        for row in monitors:
            self._observe(row, CusumState.model_validate(row.state), 0)
        self._published = True

    async def _known(self) -> list[tuple[str, str]]:
        """Every (scope, model) with a zone, or with evaluations inside the longest policy
        window (an older model has no figure a policy could read, and no new verdict)."""
        longest = max((p.window for p in self.config.policies), default=timedelta(days=1))
        async with self.sessions() as session:
            recent = await GovernanceReads(session).scoped_models(utcnow() - longest)
            pairs = set(recent)
            pairs |= {(r.scope, r.model) for r in await LifecycleRepository(session).all_zones()}
        return sorted(pairs)

    async def evaluate(self, tenant: str | None, model: str) -> EvaluateResult:
        """`POST /v1/models/{model}/evaluate`: the sweep now, then the model's policies."""
        scope = scope_of(tenant)
        async with self._running:
            raised = await self.drift.sweep()
            moved = await self._apply(scope, model)
        mine = [e for e in raised if e.model == model and (not scope or e.scope == scope)]
        current = await self.lifecycle.model(scope, model)
        if moved:
            reason = "; ".join(f"{t.actor}: {t.from_zone} -> {t.to_zone}" for t in moved)
        elif self.config.policies:
            reason = "no policy applied"
        else:
            reason = "no policy is configured"
        return EvaluateResult(
            model=model,
            zone=current.zone,
            transitions=[transition_public(t) for t in moved],
            drift_events=[drift_public(e) for e in mine],
            reason=reason,
        )

    async def _apply(self, scope: str, model: str) -> list[ModelTransitionRow]:
        """Evaluate the policies for one model and carry out the winning decisions."""
        moved: list[ModelTransitionRow] = []
        policies = self.config.policies
        for _ in ZONES:
            async with self.sessions() as session:
                row = await LifecycleRepository(session).zone(scope, model)
                events = await DriftRepository(session).events(
                    scope, model, since=row.since if row is not None else None
                )
            zone = zone_of(row)
            rates = [
                await self.compliance.figure(reach_of(scope), model, key)
                for key in required_figures(policies, zone)
            ]
            drifts = [
                DriftSignal(
                    criterion=e.criterion, use_case=e.use_case, at=e.created_at, event_id=e.id
                )
                for e in reversed(events)  # oldest first: the first event is the one cited
            ]
            decisions = evaluate(policies, zone, Figures(rates=tuple(rates), drifts=tuple(drifts)))
            if not decisions:
                return moved
            d = decisions[0]
            try:
                async with self.sessions() as session:
                    done = await move(
                        session,
                        scope,
                        model,
                        d.to_zone,
                        Actor(None, f"policy:{d.policy}"),
                        d.reason,
                        policy=d.policy,
                        figures=d.model_dump(mode="json"),
                        expect=zone,
                    )
                    await session.commit()
            except Conflict:
                return moved  # another replica moved it meanwhile
            log.warning(
                "policy %s moved %s: %s -> %s (%s)", d.policy, model, zone, d.to_zone, d.reason
            )
            moved.append(done)
        return moved

    async def models(self, tenant: str | None) -> list[ModelPublic]:
        scope = scope_of(tenant)
        async with self.sessions() as session:
            seen = await GovernanceReads(session).models(Reach(tenant=tenant))
        return await self.lifecycle.models(scope, seen)

    async def drift_events(
        self, tenant: str | None, model: str | None, since: datetime | None = None
    ) -> list[DriftEventPublic]:
        async with self.sessions() as session:
            rows = await DriftRepository(session).events(scope_of(tenant), model, since)
        return [drift_public(r) for r in rows]

    async def recommendation(
        self, tenant: str | None, profile: str, use_case: str | None, window: str
    ) -> RecommendationPublic:
        """The production model to route `use_case` to, by the lower bound of its
        compliance on `profile` over `window` (`routing.governance.rank`)."""
        self.config.profile(profile)
        length = window_of(window)
        scope = scope_of(tenant)
        key = FigureKey(profile=profile, use_case=use_case, window=length)
        candidates = []
        for m in await self.models(tenant):
            figure = await self.compliance.figure(reach_of(scope), m.model, key)
            candidates.append(
                Candidate(model=m.model, zone=m.zone, rate=figure.rate, corrected=figure.corrected)
            )
        chosen = rank(candidates, use_case=use_case, profile=profile)
        return RecommendationPublic(
            model=chosen.model,
            use_case=use_case,
            profile=profile,
            window=format_window(length),
            ranking=list(chosen.ranking),
            reason=chosen.reason,
        )

    async def refresh_gauges(self) -> None:
        """The compliance gauges (every profile over `governance.window`, every tenant
        together) and the models per zone."""
        if self.metrics is None:
            return
        window = format_window(self.config.governance.window)
        for profile in self.config.profiles:
            matrix = await self.compliance.matrix(EVERYTHING, profile, window)
            for row in matrix.data:
                self.metrics.observe_compliance(
                    profile, row.model, row.use_case, row.rate, row.corrected
                )
        async with self.sessions() as session:
            zones = await LifecycleRepository(session).all_zones()
        counts = Counter((r.model, zone_of(r)) for r in zones)
        for model in {r.model for r in zones}:
            for zone in ZONES:
                self.metrics.observe_zone(model, zone, counts.get((model, zone), 0))
