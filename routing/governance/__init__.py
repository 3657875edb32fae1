"""Governance statistics: compliance rates per subject model, drift, policies, routing.

Pure functions and frozen models over the verdicts the service reads (docs/statistics.md,
"Governance statistics"):

- `rates`: `binomial_rate` (Wilson), `ppi_rate` (prediction-powered inference on the audit
  sample), `trend` (per-bucket rates and the change over a window);
- `drift`: a Bernoulli CUSUM per stream with its threshold from a stated false-alarm rate
  and its exact run lengths;
- `policy`: the `policies:` language and `evaluate`;
- `recommend`: `rank`, the production model with the best lower bound.
"""

from __future__ import annotations

from routing.governance.drift import (
    CusumChart,
    CusumSpec,
    CusumState,
    RunLength,
    alarm_probability,
    average_run_length,
    baseline_p0,
    design,
    run_length,
    start,
    update,
    update_many,
)
from routing.governance.figures import (
    ZONES,
    Action,
    Decision,
    DriftSignal,
    FigureKey,
    Figures,
    RateFigure,
    Zone,
    next_zone,
)
from routing.governance.policy import Estimate, Policies, Policy, evaluate, required_figures
from routing.governance.rates import (
    Bucket,
    Change,
    CorrectedRate,
    Rate,
    Trend,
    TrendPoint,
    binomial_rate,
    ppi_rate,
    rate_difference,
    trend,
)
from routing.governance.recommend import Candidate, Ranked, Recommendation, rank
from routing.governance.window import Window, format_window, parse_window

__all__ = [
    "ZONES",
    "Action",
    "Bucket",
    "Candidate",
    "Change",
    "CorrectedRate",
    "CusumChart",
    "CusumSpec",
    "CusumState",
    "Decision",
    "DriftSignal",
    "Estimate",
    "FigureKey",
    "Figures",
    "Policies",
    "Policy",
    "Ranked",
    "Rate",
    "RateFigure",
    "Recommendation",
    "RunLength",
    "Trend",
    "TrendPoint",
    "Window",
    "Zone",
    "alarm_probability",
    "average_run_length",
    "baseline_p0",
    "binomial_rate",
    "design",
    "evaluate",
    "format_window",
    "next_zone",
    "parse_window",
    "ppi_rate",
    "rank",
    "rate_difference",
    "required_figures",
    "run_length",
    "start",
    "trend",
    "update",
    "update_many",
]
