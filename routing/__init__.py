"""What the votes mean and where the item goes: aggregation, agreement, routing."""

from routing.aggregate import Aggregation, Tally, aggregate, allowed
from routing.agreement import ItemAgreement, fleiss_p_i, item_agreement
from routing.confidence import confidence
from routing.outcome import PanelVerdict, conclude
from routing.policy import Reason, Routed, RoutingDecision, RoutingPolicy, decide
from routing.position import JudgeVerdict, consistency_rate, reconcile

__all__ = [
    "Aggregation",
    "ItemAgreement",
    "JudgeVerdict",
    "PanelVerdict",
    "Reason",
    "Routed",
    "RoutingDecision",
    "RoutingPolicy",
    "Tally",
    "aggregate",
    "allowed",
    "conclude",
    "confidence",
    "consistency_rate",
    "decide",
    "fleiss_p_i",
    "item_agreement",
    "reconcile",
]
