"""Panel agreement over a time window."""

from __future__ import annotations

import math

from fastapi import APIRouter, Depends, Query

from api.auth import requires
from api.deps import Stats
from api.schemas import AgreementReport, EstimatePublic, JudgeStatsPublic, RubricRef
from routing import AgreementEstimate

router = APIRouter(prefix="/v1", tags=["agreement"], dependencies=[Depends(requires("admin"))])


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
    window: str = Query("7d", description="How far back: 30m, 24h, 7d..."),
) -> AgreementReport:
    """Fleiss' kappa, Krippendorff's alpha, judge-by-judge Cohen's kappa, each judge's
    kappa against human verdicts and its unscored and error rates, over the window."""
    panel, rubric, since, report, calls = await stats.agreement(name, window)
    judges = []
    for judge in panel.judges:
        c = calls.get(judge)
        judges.append(
            JudgeStatsPublic(
                judge=judge,
                calls=c.calls if c else 0,
                unscored_rate=c.unscored_rate if c else None,
                error_rate=c.error_rate if c else None,
                human_kappa=_estimate(report.human_kappa.get(judge)),
            )
        )
    return AgreementReport(
        panel=panel.name,
        rubric=RubricRef(id=rubric.id, version=rubric.version),
        window=window,
        since=since,
        n_items=report.n_items,
        n_human=report.n_human,
        weighting=report.weighting,
        fleiss_kappa=_estimate(report.fleiss_kappa),
        krippendorff_alpha=_estimate(report.krippendorff_alpha),
        cohen_kappa=report.cohen_kappa,
        judges=judges,
    )
