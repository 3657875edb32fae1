"""What the votes mean and where the item goes: aggregation, agreement, routing."""

from routing.aggregate import Aggregation, Tally, aggregate, allowed
from routing.agreement import ItemAgreement, fleiss_p_i, item_agreement
from routing.bias import PositionBias, position_bias
from routing.confidence import confidence
from routing.kappa import (
    Weighting,
    cohen_kappa,
    cohen_kappa_from_table,
    cohen_kappa_matrix,
    fleiss_kappa,
)
from routing.krippendorff import Level, krippendorff_alpha
from routing.outcome import PanelVerdict, conclude
from routing.panel_stats import JudgeCalls, PanelAgreement, panel_agreement
from routing.policy import Reason, Routed, RoutingDecision, RoutingPolicy, decide
from routing.position import JudgeVerdict, consistency_rate, reconcile
from routing.reliability import (
    DawidSkeneResult,
    ReliabilityWeights,
    dawid_skene,
    log_odds_weight,
    reliability_weights,
)
from routing.stat_result import AgreementEstimate, PairwiseKappa

__all__ = [
    "Aggregation",
    "AgreementEstimate",
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
    "cohen_kappa",
    "cohen_kappa_from_table",
    "cohen_kappa_matrix",
    "conclude",
    "confidence",
    "consistency_rate",
    "dawid_skene",
    "decide",
    "fleiss_kappa",
    "fleiss_p_i",
    "item_agreement",
    "krippendorff_alpha",
    "log_odds_weight",
    "panel_agreement",
    "position_bias",
    "reconcile",
    "reliability_weights",
]
