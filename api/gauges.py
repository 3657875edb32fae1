"""Gauges that come from the database, refreshed on an interval rather than per scrape."""

from __future__ import annotations

import logging

from sqlalchemy import func
from sqlmodel import col, select

from api.db import SessionFactory
from api.metrics import OPEN_REVIEW_STATUSES, Metrics
from api.stats import StatsService
from api.tables import ReviewItemRow, utcnow

log = logging.getLogger("quorum.gauges")


async def refresh(
    metrics: Metrics, sessions: SessionFactory, stats: StatsService, window: str
) -> None:
    """Open queue depth and age per panel, and window agreement per panel and judge."""
    panels = list(stats.config.panels)
    async with sessions() as session:
        depth = await session.exec(
            select(ReviewItemRow.panel, ReviewItemRow.status, func.count())
            .where(col(ReviewItemRow.status).in_(OPEN_REVIEW_STATUSES))
            .group_by(ReviewItemRow.panel, ReviewItemRow.status)
        )
        counts = {(p, s): n for p, s, n in depth.all()}
        oldest = await session.exec(
            select(ReviewItemRow.panel, func.min(ReviewItemRow.created_at))
            .where(col(ReviewItemRow.status) == "pending")
            .group_by(ReviewItemRow.panel)
        )
        ages = dict(oldest.all())
    now = utcnow()
    for panel in panels:
        for status in OPEN_REVIEW_STATUSES:
            metrics.queue_depth.labels(panel, status).set(counts.get((panel, status), 0))
        first = ages.get(panel)
        if first is not None and first.tzinfo is None:
            first = first.replace(tzinfo=now.tzinfo)
        metrics.oldest_pending.labels(panel).set((now - first).total_seconds() if first else 0)
    for panel in panels:
        try:
            window_stats = await stats.agreement(panel, window)
        except Exception:
            log.exception("agreement refresh failed for panel %s", panel)
            continue
        report = window_stats.agreement
        if report.fleiss_kappa is not None:
            metrics.panel_kappa.labels(panel).set(report.fleiss_kappa.value)
        for judge, est in report.human_kappa.items():
            if est is not None:
                metrics.human_kappa.labels(panel, judge).set(est.value)
        for bias in window_stats.position:
            if bias.first_position_rate is not None:
                metrics.position_bias.labels(panel, bias.judge).set(bias.first_position_rate)
