"""The FastAPI application and its lifespan: where resources are built and torn down."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from fastapi import FastAPI

from api import auth, problems
from api.auth import Authenticator
from api.config import QuorumConfig, load_config
from api.head import HeadAsGet
from api.limits import BodyLimit, BodyTimeout, EarlyAuth, SecurityHeaders
from api.logs import configure_logging
from api.metric_labels import AppLabels, CappedLabels
from api.metrics import Metrics
from api.routes import (
    agreement,
    assessments,
    audit,
    batch,
    calibration,
    catalog,
    docs,
    evaluations,
    governance,
    health,
    jury,
    models,
    review_page,
    reviews,
)
from api.services.admission import Admission
from api.services.assessments import AssessmentService
from api.services.audit import apply_retention
from api.services.calibration import CalibrationService
from api.services.compliance import ComplianceService
from api.services.evaluator import EvaluationService
from api.services.gauges import refresh
from api.services.governance import GovernanceService
from api.services.judge_checks import JudgeChecks
from api.services.jury import JuryService
from api.services.leases import Leases
from api.services.lifecycle import LifecycleService
from api.services.reliability import ReliabilityInForce
from api.services.reviews import ReviewService
from api.services.stats import StatsService
from api.services.webhook_targets import WebhookGuard
from api.services.webhooks import WebhookSender
from api.settings import Settings
from api.store.engine import (
    is_sqlite,
    make_engine,
    make_read_engine,
    make_session_factory,
    make_sync_engine,
)
from api.store.migrate import ensure_schema, upgrade
from api.store.vote_cache import CountedCache, DatabaseVoteCache, RedisVoteCache
from judges import ChatClient, PanelRunner
from judges.heap import freeze_start_up_heap
from rubrics.redact import Redactor

if TYPE_CHECKING:
    from judges.litellm_client import LiteLLMClient  # imported when needed: it loads litellm

log = logging.getLogger("quorum")


async def _gauges(metrics: Metrics, app: FastAPI, settings: Settings) -> None:
    """Recompute database-derived gauges every `gauge_refresh_s`."""
    while True:
        try:
            computed = await refresh(
                metrics, app.state.sessions, app.state.stats, settings.stats_window
            )
            for panel, window_stats in computed.items():
                app.state.reliability.update(panel, window_stats)
            await app.state.calibration.refresh()  # thresholds applied by other replicas
        except Exception:
            log.exception("gauge refresh failed; will retry")
        await asyncio.sleep(settings.gauge_refresh_s)


JUDGE_RECHECK_S = 5.0
"""While a panel is short of its quorum, the judges are checked again this often (a judge
server started just after Quorum makes it ready within seconds, not an interval)."""


async def _check_judges(checks: JudgeChecks, interval_s: float) -> None:
    """Probe every judge now (start-up), then every `interval_s` (sooner while a panel is
    not ready); /readyz reads the result."""
    while True:
        try:
            await checks.refresh()
        except Exception:
            log.exception("judge check failed; will retry")
        ready = checks.checked and all(p.ready for p in checks.panels().values())
        await asyncio.sleep(interval_s if ready else min(interval_s, JUDGE_RECHECK_S))


async def _sweep(service: EvaluationService, settings: Settings) -> None:
    """Every `sweep_interval_s`: resume evaluations whose worker died, and apply retention."""
    while True:
        try:
            n = await service.resume_stale()
            if n:
                log.info("resumed %d interrupted evaluation(s)", n)
            if settings.retention_days:
                gone = await apply_retention(service.sessions, settings.retention_days)
                if gone:
                    log.info(
                        "retention: deleted %d evaluation(s) older than %d days",
                        gone,
                        settings.retention_days,
                    )
        except Exception:
            log.exception("resume/retention sweep failed; will retry")
        await asyncio.sleep(settings.sweep_interval_s)


async def _jury(jury: JuryService, settings: Settings) -> None:
    """Every `jury_check_s`: load the newest jury models, refit those that are due."""
    while True:
        try:
            await jury.tick()
        except Exception:
            log.exception("jury model refresh/refit failed; will retry")
        await asyncio.sleep(settings.jury_check_s)


async def _governance(governance: GovernanceService, config: QuorumConfig) -> None:
    """Every `governance.sweep_interval_s`: the drift sweep, the policies, the gauges."""
    while True:
        try:
            await governance.tick()
        except Exception:
            log.exception("governance sweep failed; will retry")
        await asyncio.sleep(config.governance.sweep_interval_s)


async def _leases(service: EvaluationService, settings: Settings) -> None:
    """Every `lease_grace_s / 3`: renew the leases of the evaluations this process holds,
    so that work waiting for a judging slot is never taken for abandoned."""
    while True:
        await asyncio.sleep(settings.lease_grace_s / 3)
        try:
            await service.leases.renew()
        except Exception:
            log.exception("lease renewal failed; will retry")


async def _count_window(stats: StatsService) -> None:
    """Count the concluded evaluations the window counts do not hold yet (those stored
    before migration 0016), once at start-up, beside live traffic."""
    try:
        counted = await stats.backfill()
    except Exception:
        log.exception("window count backfill failed; restart to retry")
        return
    if counted:
        log.info("window counts: %d earlier evaluation(s) counted", counted)


def create_app(settings: Settings | None = None, client: ChatClient | None = None) -> FastAPI:
    """Build the app. `client` defaults to the litellm adapter (tests pass nothing else)."""
    configure_logging()  # a `serve --workers N` worker process has had no set-up
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        config = load_config(settings.config)
        if settings.auto_migrate:
            await asyncio.to_thread(upgrade, settings.database_url)
        else:  # a migration job's task: a schema not at head must stop the start, said once
            await asyncio.to_thread(
                ensure_schema, settings.database_url, create=False, migrate=False
            )
        chat = client
        own_chat: LiteLLMClient | None = None
        if chat is None:
            from judges.litellm_client import LiteLLMClient, configure_litellm

            configure_litellm()
            chat = own_chat = LiteLLMClient()
        engine = make_engine(settings.database_url, settings.db_pool_size)
        sessions = make_session_factory(engine)
        read_engine = make_read_engine(settings.database_url)
        reads = make_session_factory(read_engine) if read_engine is not None else sessions
        metrics = Metrics(
            apps=AppLabels(settings.metrics_apps, settings.metrics_max_apps),
            models=CappedLabels(settings.metrics_models, settings.metrics_max_models),
            use_cases=CappedLabels(settings.metrics_use_cases, settings.metrics_max_use_cases),
            tenants=CappedLabels(settings.metrics_tenants, settings.metrics_max_tenants),
        )
        stats_engine = make_sync_engine(settings.database_url)
        stats = StatsService(config, stats_engine, settings.stats_max_items)
        reliability = ReliabilityInForce(config)
        jury_models = JuryService(
            config,
            sessions,
            stats_engine,
            refit_s=settings.jury_refit_s,
            refit_labels=settings.jury_refit_labels,
            max_items=settings.jury_max_items,
        )
        await jury_models.refresh()
        cache: CountedCache | None = None
        redis_cache: RedisVoteCache | None = None
        if settings.vote_cache == "database":
            cache = CountedCache(
                DatabaseVoteCache(sessions, settings.vote_cache_ttl_s), metrics, "database"
            )
        elif settings.vote_cache == "redis":
            redis_cache = RedisVoteCache(settings.redis_url, settings.vote_cache_ttl_s)
            cache = CountedCache(redis_cache, metrics, "redis")
        guard = WebhookGuard(settings.webhook_allow)
        webhooks = WebhookSender(
            sessions, settings.webhook_secret, guard=guard, per_key=settings.webhook_per_key
        )
        calibration = CalibrationService(config, sessions)
        await calibration.refresh()
        leases = Leases(sessions, settings.lease_grace_s, metrics)
        admission = Admission(
            held=leases.__len__,
            max_concurrent=settings.max_concurrent_evaluations,
            max_queued=settings.max_queued_evaluations,
            metrics=metrics,
        )
        service = EvaluationService(
            config,
            sessions,
            PanelRunner(chat, cache=cache),
            admission,
            leases,
            metrics=metrics,
            weights=reliability.weights_for,
            policy=calibration.policy,
            jury=jury_models.in_force,
            redactor=Redactor(settings.redact),
            webhooks=webhooks,
            webhook_guard=guard,
        )
        app.state.settings = settings
        app.state.config = config
        app.state.sessions = sessions
        app.state.service = service
        app.state.stats = stats
        app.state.reliability = reliability
        app.state.jury = jury_models
        app.state.metrics = metrics
        app.state.calibration = calibration
        checks = JudgeChecks(config, chat, metrics) if settings.judge_check_interval_s else None
        app.state.judge_checks = checks
        app.state.auth = Authenticator(reads, settings.rate_limit_per_min, settings.auth)
        if await app.state.auth.is_open():
            log.warning(
                "the API is OPEN to anyone who can reach it (%s)",
                "QUORUM_AUTH=off"
                if settings.auth == "off"
                else "no API key yet: create one with `quorum keys create`",
            )
        app.state.reviews = ReviewService(
            config,
            sessions,
            postgres=not is_sqlite(settings.database_url),
            webhooks=webhooks,
            metrics=metrics,
        )
        app.state.assessments = AssessmentService(
            config, sessions, service, metrics=metrics, webhooks=webhooks
        )
        app.state.reviews.assessment_changed = app.state.assessments.changed
        app.state.lifecycle = LifecycleService(sessions)
        app.state.compliance = ComplianceService(config, sessions)
        app.state.governance = GovernanceService(
            config, sessions, app.state.lifecycle, app.state.compliance, metrics
        )
        renewing = asyncio.create_task(_leases(service, settings))
        background = [
            asyncio.create_task(_sweep(service, settings)),
            asyncio.create_task(_gauges(metrics, app, settings)),
            asyncio.create_task(webhooks.run()),
            asyncio.create_task(_jury(jury_models, settings)),
            asyncio.create_task(_governance(app.state.governance, config)),
            asyncio.create_task(_count_window(stats)),
        ]
        if checks is not None:
            background.append(
                asyncio.create_task(_check_judges(checks, settings.judge_check_interval_s))
            )
        freeze_start_up_heap("service")  # the config, routes and engines (judges.heap)
        log.info(
            "quorum ready: %d panel(s), %d judge(s), config %s",
            len(config.panels),
            len(config.judges),
            config.path,
        )
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await service.drain()
            # Only now: work held until the end keeps its lease while it drains.
            renewing.cancel()
            await asyncio.gather(renewing, return_exceptions=True)
            await webhooks.close()
            if own_chat is not None:
                await own_chat.aclose()  # its pooled connections to the judges
            stats_engine.dispose()
            if redis_cache is not None:
                await redis_cache.close()
            if read_engine is not None:
                await read_engine.dispose()
            await engine.dispose()

    app = FastAPI(
        title="Quorum",
        version="0.1.0",
        summary="Judge LLM output with a jury of judge models.",
        lifespan=lifespan,
        docs_url=None,  # served from package files by api.routes.docs, not from a CDN
        redoc_url=None,
    )
    problems.install(app)
    # Outermost last: nosniff on every answer, then the size, key and time limits.
    app.add_middleware(BodyTimeout, timeout_s=settings.body_timeout_s)
    app.add_middleware(EarlyAuth)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(HeadAsGet)  # HEAD routed as GET, its body dropped
    app.include_router(batch.router)  # before /evaluations/{id}
    app.include_router(evaluations.router)
    app.include_router(assessments.router)  # batch is declared before /assessments/{id}
    app.include_router(catalog.router)
    app.include_router(agreement.router)
    app.include_router(reviews.router)
    app.include_router(audit.router)
    app.include_router(calibration.router)
    app.include_router(jury.router)
    app.include_router(models.router)
    app.include_router(governance.router)
    app.include_router(review_page.router)
    app.include_router(health.router)
    app.include_router(docs.router)
    problems.document(app)
    auth.document(app)
    return app
