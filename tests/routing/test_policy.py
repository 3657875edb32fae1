"""The routing policy: every reason an item goes to humans, and the audit sample."""

from typing import Any

import pytest
from pydantic import ValidationError

from routing import ItemAgreement, Reason, RoutingPolicy, decide

DEFAULT = RoutingPolicy()  # min_agreement 0.3, min_confidence 0.6, max inconsistency 0.34


def agreement(**overrides: Any) -> ItemAgreement:
    """Three judges in full agreement, unless overridden."""
    data: dict[str, Any] = {"usable_votes": 3, "total_votes": 3, "fleiss_p_i": 1.0, "margin": 1.0}
    data.update(overrides)
    return ItemAgreement(**data)


def codes(policy: RoutingPolicy, a: ItemAgreement, conf: float, quorum: int = 2, draw: float = 0.5):  # type: ignore[no-untyped-def]
    result = decide(policy, a, conf, quorum, draw)
    assert result.decision == ("human" if result.reasons else "auto")
    return [r.code for r in result.reasons]


def test_a_confident_unanimous_panel_decides() -> None:
    result = decide(DEFAULT, agreement(), 0.8, quorum=2, audit_draw=0.5)
    assert result.decision == "auto"
    assert result.reasons == ()


def test_below_quorum() -> None:
    result = decide(
        DEFAULT, agreement(usable_votes=1, fleiss_p_i=None), 0.8, quorum=2, audit_draw=0.5
    )
    assert result.decision == "human"
    [reason] = result.reasons
    assert reason.code is Reason.BELOW_QUORUM
    assert reason.detail == "1 usable of 3; quorum 2"


def test_exactly_at_quorum_is_enough() -> None:
    assert codes(DEFAULT, agreement(usable_votes=2), 0.8, quorum=2) == []


@pytest.mark.parametrize(
    "p_i, routed", [(0.0, True), (0.29, True), (0.3, False), (1 / 3, False), (None, False)]
)
def test_low_agreement(p_i: float | None, routed: bool) -> None:
    # 0.3 lets a 2-1 split of three (P_i = 1/3) through and stops a three-way split.
    got = codes(DEFAULT, agreement(fleiss_p_i=p_i), 0.8)
    assert got == ([Reason.LOW_AGREEMENT] if routed else [])


@pytest.mark.parametrize("conf, routed", [(0.0, True), (0.59, True), (0.6, False), (0.9, False)])
def test_low_confidence(conf: float, routed: bool) -> None:
    assert codes(DEFAULT, agreement(), conf) == ([Reason.LOW_CONFIDENCE] if routed else [])


@pytest.mark.parametrize(
    "consistency, routed",
    [(1.0, False), (2 / 3, False), (0.5, True), (0.0, True), (None, False)],
)
def test_position_inconsistency(consistency: float | None, routed: bool) -> None:
    # One judge of three flipping (inconsistency 1/3) is within the 0.34 default.
    got = codes(DEFAULT, agreement(position_consistency=consistency), 0.8)
    assert got == ([Reason.POSITION_INCONSISTENT] if routed else [])


def test_every_reason_is_recorded_in_order_with_its_figures() -> None:
    a = agreement(usable_votes=1, total_votes=3, fleiss_p_i=0.0, position_consistency=0.0)
    result = decide(DEFAULT, a, 0.25, quorum=2, audit_draw=0.0)
    assert [r.code for r in result.reasons] == [
        Reason.BELOW_QUORUM,
        Reason.LOW_AGREEMENT,
        Reason.LOW_CONFIDENCE,
        Reason.POSITION_INCONSISTENT,
    ]
    details = [r.detail for r in result.reasons]
    assert details[1] == "agreement 0.000 < 0.3"
    assert details[2] == "confidence 0.250 < 0.6"
    assert details[3] == "position inconsistency 1.000 > 0.34"


def test_none_disables_a_check() -> None:
    off = RoutingPolicy(min_agreement=None, min_confidence=None, max_position_inconsistency=None)
    a = agreement(fleiss_p_i=0.0, position_consistency=0.0)
    assert codes(off, a, 0.0) == []
    # quorum is not a policy threshold: it always applies
    assert codes(off, agreement(usable_votes=0, fleiss_p_i=None), 0.0) == [Reason.BELOW_QUORUM]


# --- the audit sample -----------------------------------------------------------------------


@pytest.mark.parametrize("draw, routed", [(0.0, True), (0.099, True), (0.1, False), (0.7, False)])
def test_audit_draw_below_the_rate_sends_an_auto_item_to_humans(draw: float, routed: bool) -> None:
    policy = RoutingPolicy(audit_rate=0.1)
    result = decide(policy, agreement(), 0.8, quorum=2, audit_draw=draw)
    assert [r.code for r in result.reasons] == ([Reason.AUDIT_SAMPLE] if routed else [])
    assert result.decision == ("human" if routed else "auto")


def test_audit_draws_only_from_otherwise_auto_items() -> None:
    policy = RoutingPolicy(audit_rate=1.0)
    assert codes(policy, agreement(), 0.5, draw=0.0) == [Reason.LOW_CONFIDENCE]
    assert codes(policy, agreement(), 0.8, draw=0.0) == [Reason.AUDIT_SAMPLE]


def test_a_zero_audit_rate_never_audits() -> None:
    assert codes(DEFAULT, agreement(), 0.8, draw=0.0) == []


# --- the policy model -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        ("min_agreement", 1.5),
        ("min_confidence", -0.1),
        ("max_position_inconsistency", 2),
        ("audit_rate", 1.01),
        ("audit_rate", None),
        ("min_kappa", 0.5),
    ],
)
def test_bad_policies_are_rejected(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        RoutingPolicy(**{field: value})
