"""Panel agreement over a time window."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import Principal, requires
from api.deps import Config, Jury, Stats
from api.schemas import AgreementReport, EstimatePublic, JudgeStatsPublic, RubricRef
from routing import Aggregation, AgreementEstimate

router = APIRouter(prefix="/v1", tags=["agreement"])
Admin = Annotated[Principal, Depends(requires("admin"))]


def _estimate(e: AgreementEstimate | None) -> EstimatePublic | None:
    if e is None:
        return None
    finite = not (math.isnan(e.ci_low) or math.isnan(e.ci_high))
    return EstimatePublic(
        value=e.value,
        ci_low=e.ci_low if finite else None,
        ci_high=e.ci_high if finite else None,
        n_items=e.n_items,
        method=e.method,
    )


@router.get("/panels/{name}/agreement", response_model=AgreementReport)
async def panel_agreement(
    name: str,
    stats: Stats,
    config: Config,
    jury: Jury,
    caller: Admin,
    window: str = Query("7d", description="How far back: 30m, 24h, 7d..."),
) -> AgreementReport:
    """Fleiss' kappa, Krippendorff's alpha, judge-by-judge Cohen's kappa, each judge's
    kappa against human verdicts and its unscored and error rates, over the window.
    A panel the key may not use is 404. The figures span every tenant's items."""
    config.panel(name, caller.panels)
    window_stats = await stats.agreement(name, window)
    panel, rubric, report = window_stats.panel, window_stats.rubric, window_stats.agreement
    since = window_stats.since
    bias = {b.judge: b for b in window_stats.position}
    weights = window_stats.weights
    judges = []
    for i, judge in enumerate(panel.judges):
        c = window_stats.calls.get(judge)
        b = bias.get(judge)
        judges.append(
            JudgeStatsPublic(
                judge=judge,
                calls=c.calls if c else 0,
                unscored_rate=c.unscored_rate if c else None,
                error_rate=c.error_rate if c else None,
                human_kappa=_estimate(report.human_kappa.get(judge)),
                weight=weights.weights[i] if weights else config.judges[judge].weight,
                weight_source=weights.sources[i] if weights else "prior",
                accuracy=weights.accuracy[i] if weights else None,
                position_inconsistency=b.inconsistency_rate if b else None,
                first_position_rate=b.first_position_rate if b else None,
                first_position_ci=(b.ci_low, b.ci_high)
                if b and b.ci_low is not None and b.ci_high is not None
                else None,
            )
        )
    return AgreementReport(
        panel=panel.name,
        rubric=RubricRef(id=rubric.id, version=rubric.version),
        window=window_stats.window,
        since=since,
        truncated=window_stats.truncated,
        n_patterns=window_stats.n_patterns,
        weights_items=window_stats.weights_items,
        n_items=report.n_items,
        n_human=report.n_human,
        weighting=report.weighting,
        fleiss_kappa=_estimate(report.fleiss_kappa),
        krippendorff_alpha=_estimate(report.krippendorff_alpha),
        cohen_kappa=report.cohen_kappa,
        judges=judges,
        jury=jury.public(panel.name) if panel.aggregation is Aggregation.JURY else None,
    )
