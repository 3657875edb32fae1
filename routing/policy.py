"""The routing policy: does the panel decide, or does the item go to humans, and why."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from routing.agreement import ItemAgreement


class Reason(StrEnum):
    """Why an item went to humans. A bounded set: it labels metrics."""

    BELOW_QUORUM = "below_quorum"
    LOW_AGREEMENT = "low_agreement"
    LOW_CONFIDENCE = "low_confidence"
    POSITION_INCONSISTENT = "position_inconsistent"
    POSITION_UNCHECKED = "position_unchecked"
    """Pairwise, shown in both orders: no judge answered in both, so position bias was not
    checked at all (a judged text can make one order fail)."""
    AUDIT_SAMPLE = "audit_sample"


class RoutingPolicy(BaseModel):
    """Per-panel thresholds; `None` disables a check."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_agreement: float | None = Field(default=0.3, ge=0, le=1)
    """Route when per-item agreement (Fleiss' P_i) is below this. 0.3 lets a 2-1 split of
    three judges through (P_i = 1/3) and stops a three-way split (P_i = 0)."""
    min_confidence: float | None = Field(default=0.6, ge=0, le=1)
    """Route when the panel's confidence is below this (replaced by calibration)."""
    max_position_inconsistency: float | None = Field(default=0.34, ge=0, le=1)
    """Pairwise: route when more than this share of judges flipped with the order."""
    audit_rate: float = Field(default=0.0, ge=0, le=1)
    """Share of otherwise auto-decided items sent to humans at random, to measure
    auto-decision accuracy without selection bias."""


class Routed(BaseModel):
    """One reason an item was routed, with the figures behind it."""

    model_config = ConfigDict(frozen=True)

    code: Reason
    detail: str


class RoutingDecision(BaseModel):
    """Where the item goes, with every reason that applied."""

    model_config = ConfigDict(frozen=True)

    decision: Literal["auto", "human"]
    reasons: tuple[Routed, ...] = ()


def decide(
    policy: RoutingPolicy,
    agreement: ItemAgreement,
    confidence: float,
    quorum: int,
    audit_draw: float,
    *,
    position_unchecked: bool = False,
) -> RoutingDecision:
    """Apply `policy`. `audit_draw` is a uniform number in [0, 1) fixed per evaluation.
    `position_unchecked`: the item was shown in both orders, and no judge answered in
    both (routed while the position check is on)."""
    reasons: list[Routed] = []
    if agreement.usable_votes < quorum:
        reasons.append(
            Routed(
                code=Reason.BELOW_QUORUM,
                detail=f"{agreement.usable_votes} usable of {agreement.total_votes}; "
                f"quorum {quorum}",
            )
        )
    p_i = agreement.fleiss_p_i
    if policy.min_agreement is not None and p_i is not None and p_i < policy.min_agreement:
        reasons.append(
            Routed(
                code=Reason.LOW_AGREEMENT,
                detail=f"agreement {p_i:.3f} < {policy.min_agreement}",
            )
        )
    if policy.min_confidence is not None and confidence < policy.min_confidence:
        reasons.append(
            Routed(
                code=Reason.LOW_CONFIDENCE,
                detail=f"confidence {confidence:.3f} < {policy.min_confidence}",
            )
        )
    pc = agreement.position_consistency
    limit = policy.max_position_inconsistency
    if limit is not None and pc is not None and 1 - pc > limit:
        reasons.append(
            Routed(
                code=Reason.POSITION_INCONSISTENT,
                detail=f"position inconsistency {1 - pc:.3f} > {limit}",
            )
        )
    if limit is not None and pc is None and position_unchecked:
        reasons.append(
            Routed(
                code=Reason.POSITION_UNCHECKED,
                detail="shown in both orders, no judge answered in both: position unchecked",
            )
        )
    if not reasons and audit_draw < policy.audit_rate:
        reasons.append(
            Routed(code=Reason.AUDIT_SAMPLE, detail=f"random audit at rate {policy.audit_rate}")
        )
    return RoutingDecision(decision="human" if reasons else "auto", reasons=tuple(reasons))
