"""Gauges that come from the database, refreshed on an interval rather than per scrape."""

from __future__ import annotations

import logging

from api.metrics import OPEN_REVIEW_STATUSES, Metrics
from api.services.stats import StatsService, WindowStats
from api.store.engine import SessionFactory
from api.store.reviews import ReviewRepository
from api.store.tables import utcnow

log = logging.getLogger("quorum.gauges")


async def refresh(
    metrics: Metrics, sessions: SessionFactory, stats: StatsService, window: str
) -> dict[str, WindowStats]:
    """Open queue depth and age per panel, and window agreement per panel and judge. Returns
    each panel's window statistics (for the reliability weights in force)."""
    panels = list(stats.config.panels)
    async with sessions() as session:
        repo = ReviewRepository(session)
        counts = await repo.depth(OPEN_REVIEW_STATUSES)
        ages = await repo.oldest_pending()
    now = utcnow()
    for panel in panels:
        for status in OPEN_REVIEW_STATUSES:
            metrics.queue_depth.labels(panel, status).set(counts.get((panel, status), 0))
        first = ages.get(panel)
        if first is not None and first.tzinfo is None:
            first = first.replace(tzinfo=now.tzinfo)
        metrics.oldest_pending.labels(panel).set((now - first).total_seconds() if first else 0)
    computed: dict[str, WindowStats] = {}
    for panel in panels:
        try:
            window_stats = await stats.agreement(panel, window)
        except Exception:
            log.exception("agreement refresh failed for panel %s", panel)
            continue
        computed[panel] = window_stats
        report = window_stats.agreement
        if report.fleiss_kappa is not None:
            metrics.panel_kappa.labels(panel).set(report.fleiss_kappa.value)
        for judge, est in report.human_kappa.items():
            if est is not None:
                metrics.human_kappa.labels(panel, judge).set(est.value)
        for bias in window_stats.position:
            if bias.first_position_rate is not None:
                metrics.position_bias.labels(panel, bias.judge).set(bias.first_position_rate)
    return computed
