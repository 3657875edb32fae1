"""What the votes mean and where the item goes: aggregation, agreement, routing."""

from routing.aggregate import Aggregation, Tally, aggregate, allowed
from routing.agreement import ItemAgreement, fleiss_p_i, item_agreement
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
from routing.policy import Reason, Routed, RoutingDecision, RoutingPolicy, decide
from routing.position import JudgeVerdict, consistency_rate, reconcile
from routing.stat_result import AgreementEstimate, PairwiseKappa

__all__ = [
    "Aggregation",
    "AgreementEstimate",
    "ItemAgreement",
    "JudgeVerdict",
    "Level",
    "PairwiseKappa",
    "PanelVerdict",
    "Reason",
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
    "decide",
    "fleiss_kappa",
    "fleiss_p_i",
    "item_agreement",
    "krippendorff_alpha",
    "reconcile",
]
