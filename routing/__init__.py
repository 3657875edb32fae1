"""What the votes mean and where the item goes: aggregation, agreement, routing.

The request path (aggregation, per-item agreement, confidence, position reconciliation,
the routing policy) is imported eagerly. The window statistics (kappa, alpha,
Dawid-Skene, position bias, calibration) load on first use: they pull in scipy and
statsmodels, which a CLI command or a worker that never computes them should not pay for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from routing.aggregate import Aggregation, Tally, aggregate, allowed
from routing.agreement import ItemAgreement, fleiss_p_i, item_agreement
from routing.confidence import confidence
from routing.outcome import PanelVerdict, conclude
from routing.policy import Reason, Routed, RoutingDecision, RoutingPolicy, decide
from routing.position import JudgeVerdict, consistency_rate, reconcile

if TYPE_CHECKING:
    from routing.bias import PositionBias, position_bias, weighted_position_bias
    from routing.calibration import Calibration, calibrate
    from routing.calibration_check import apply_split, evaluate_threshold
    from routing.kappa import (
        Weighting,
        cohen_kappa,
        cohen_kappa_from_table,
        cohen_kappa_matrix,
        fleiss_kappa,
    )
    from routing.krippendorff import Level, krippendorff_alpha
    from routing.panel_stats import JudgeCalls, PanelAgreement, panel_agreement
    from routing.pattern_stats import pattern_agreement
    from routing.reliability import (
        DawidSkeneResult,
        ReliabilityWeights,
        dawid_skene,
        log_odds_weight,
        reliability_weights,
    )
    from routing.stat_result import AgreementEstimate, PairwiseKappa

_LAZY = {
    "PositionBias": "bias",
    "position_bias": "bias",
    "weighted_position_bias": "bias",
    "Calibration": "calibration",
    "apply_split": "calibration_check",
    "calibrate": "calibration",
    "evaluate_threshold": "calibration_check",
    "Weighting": "kappa",
    "cohen_kappa": "kappa",
    "cohen_kappa_from_table": "kappa",
    "cohen_kappa_matrix": "kappa",
    "fleiss_kappa": "kappa",
    "Level": "krippendorff",
    "krippendorff_alpha": "krippendorff",
    "JudgeCalls": "panel_stats",
    "PanelAgreement": "panel_stats",
    "panel_agreement": "panel_stats",
    "pattern_agreement": "pattern_stats",
    "DawidSkeneResult": "reliability",
    "ReliabilityWeights": "reliability",
    "dawid_skene": "reliability",
    "log_odds_weight": "reliability",
    "reliability_weights": "reliability",
    "AgreementEstimate": "stat_result",
    "PairwiseKappa": "stat_result",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'routing' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"routing.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "Aggregation",
    "AgreementEstimate",
    "Calibration",
    "DawidSkeneResult",
    "ItemAgreement",
    "JudgeCalls",
    "JudgeVerdict",
    "Level",
    "PairwiseKappa",
    "PanelAgreement",
    "PanelVerdict",
    "PositionBias",
    "Reason",
    "ReliabilityWeights",
    "Routed",
    "RoutingDecision",
    "RoutingPolicy",
    "Tally",
    "Weighting",
    "aggregate",
    "allowed",
    "apply_split",
    "calibrate",
    "cohen_kappa",
    "cohen_kappa_from_table",
    "cohen_kappa_matrix",
    "conclude",
    "confidence",
    "consistency_rate",
    "dawid_skene",
    "decide",
    "evaluate_threshold",
    "fleiss_kappa",
    "fleiss_p_i",
    "item_agreement",
    "krippendorff_alpha",
    "log_odds_weight",
    "panel_agreement",
    "pattern_agreement",
    "position_bias",
    "reconcile",
    "reliability_weights",
    "weighted_position_bias",
]
