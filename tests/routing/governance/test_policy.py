"""The policy language: parsing with clear errors, and evaluation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from routing.governance import (
    DriftSignal,
    FigureKey,
    Figures,
    Policies,
    Policy,
    RateFigure,
    Zone,
    binomial_rate,
    evaluate,
    format_window,
    parse_window,
    ppi_rate,
    required_figures,
)

EXAMPLE = """
policies:
  - name: quarantine-on-security
    action: quarantine
    from: [validation, production]
    profile: security
    use_case: support-bot
    window: 7d
    min_items: 50
    bound: upper
    below: 0.9
  - name: promote-on-security
    action: promote
    profile: security
    use_case: support-bot
    window: 7d
    min_items: 50
    above: 0.95
  - name: quarantine-on-leak-drift
    action: quarantine
    drift: security-data-leakage
"""

POLICIES = TypeAdapter(Policies)


def load(text: str = EXAMPLE) -> tuple[Policy, ...]:
    return POLICIES.validate_python(yaml.safe_load(text)["policies"])


def one(**kw: Any) -> Policy:
    return Policy.model_validate({"name": "p", "action": "quarantine", **kw})


def error(data: Any) -> str:
    with pytest.raises(ValidationError) as info:
        POLICIES.validate_python(data)
    errors = info.value.errors()
    assert len(errors) == 1, errors
    loc = ".".join(str(p) for p in errors[0]["loc"])
    return f"{loc}: {errors[0]['msg']}"


def test_the_documented_example_parses() -> None:
    quarantine, promote, drift = load()
    assert quarantine.from_ == ("validation", "production")
    assert quarantine.window == timedelta(days=7)
    assert (quarantine.side, quarantine.threshold, quarantine.kind) == ("upper", 0.9, "rate")
    assert (promote.side, promote.threshold) == ("lower", 0.95)
    assert drift.kind == "drift" and drift.drift == "security-data-leakage"
    dumped = quarantine.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert dumped["from"] == ["validation", "production"] and dumped["window"] == "7d"
    assert Policy.model_validate(dumped) == quarantine


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("30m", timedelta(minutes=30)),
        ("12h", timedelta(hours=12)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(days=14)),
        ("90s", timedelta(seconds=90)),
        (" 7d ", timedelta(days=7)),
    ],
)
def test_windows_parse(text: str, delta: timedelta) -> None:
    assert parse_window(text) == delta
    assert parse_window(format_window(delta)) == delta


def test_windows_are_written_in_their_largest_unit() -> None:
    assert [format_window(parse_window(w)) for w in ("2w", "24h", "90m", "61s")] == [
        "14d",
        "1d",
        "90m",
        "61s",
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("7", "like 30m, 12h or 7d"),
        ("7x", "like 30m, 12h or 7d"),
        ("-1d", "like 30m, 12h or 7d"),
        ("1.5d", "like 30m, 12h or 7d"),
        ("0d", "longer than zero"),
        ("400d", "at most 366d"),
        ("99999999999999999999d", "at most 366d"),  # beyond what a timedelta holds
        (7, "string like 7d"),
    ],
)
def test_bad_windows_are_refused(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_window(value)
    entry = {"name": "p", "action": "quarantine", "profile": "x", "below": 0.9, "window": value}
    assert message in error([entry])


@pytest.mark.parametrize(
    ("entry", "where", "message"),
    [
        ({"profile": "x", "criterion": "y", "below": 0.9}, "0", "exactly one of `profile`"),
        ({"below": 0.9}, "0", "exactly one of `profile`"),
        ({"profile": "x"}, "0", "exactly one of `below`, `above`"),
        ({"profile": "x", "below": 0.9, "above": 0.1}, "0", "exactly one of `below`"),
        ({"profile": "x", "below": 1.5}, "0.below", "less than or equal to 1"),
        ({"profile": "x", "below": 0.9, "min_items": 0}, "0.min_items", "greater than or equal"),
        ({"profile": "x", "below": 0.9, "min_items": 10**30}, "0.min_items", "less than or equal"),
        ({"profile": "x", "below": 0.9, "bound": "middle"}, "0.bound", "'upper' or 'lower'"),
        ({"profile": "x", "below": 0.9, "from": ["prod"]}, "0.from.0", "'candidate'"),
        ({"profile": "x", "below": 0.9, "from": []}, "0", "`from` lists no zone"),
        ({"profile": "x", "below": 0.9, "from": ["production"] * 2}, "0", "lists a zone twice"),
        ({"profile": "x", "below": 0.9, "to": "production"}, "0", "`to` is for promote"),
        ({"profile": "x", "below": 0.9, "thresold": 1}, "0.thresold", "Extra inputs"),
        ({"profile": "bad name", "below": 0.9}, "0.profile", "pattern"),
        ({"drift": "leak", "window": "7d"}, "0", "a drift policy takes no `window`"),
        ({"drift": "leak", "action": "promote"}, "0", "can only quarantine"),
        ({"action": "retire", "profile": "x", "below": 0.9}, "0.action", "'quarantine'"),
        ({"action": "promote", "to": "candidate", "profile": "x", "above": 0.9}, "0", "`to`"),
        (
            {"action": "promote", "to": "production", "from": ["production"], "above": 0.9},
            "0",
            "`from` includes the target zone production",
        ),
    ],
)
def test_bad_policies_say_which_key(entry: dict[str, Any], where: str, message: str) -> None:
    got = error([{"name": "p", "action": "quarantine", **entry}])
    assert got.startswith(f"{where}: ")
    assert message in got


def test_policy_names_are_unique() -> None:
    entry = {"name": "p", "action": "quarantine", "drift": "leak"}
    assert "two policies are named 'p'" in error([entry, entry])


def key(**kw: Any) -> FigureKey:
    kw.setdefault("window", "7d")
    return FigureKey(**kw)


def figures(k: int, n: int, **kw: Any) -> Figures:
    fig = RateFigure(key=key(profile="security", use_case="support-bot"), rate=binomial_rate(k, n))
    return Figures(rates=(fig,), **kw)


def test_quarantine_when_the_upper_bound_is_below_the_bar() -> None:
    policies = load()
    # 40 compliant of 60: rate 0.667, Wilson 95% upper bound 0.773 < 0.9
    (decision,) = evaluate(policies, "production", figures(40, 60))
    assert (decision.policy, decision.from_zone, decision.to_zone) == (
        "quarantine-on-security",
        "production",
        "quarantine",
    )
    assert (decision.n, decision.estimate, decision.threshold) == (60, "judges", 0.9)
    assert decision.bound == pytest.approx(binomial_rate(40, 60).high)
    assert decision.reason == (
        "upper 95% bound 0.773 of the compliance of profile security for support-bot over "
        "7d (rate 0.667, n=60) is below 0.9"
    )


def test_a_policy_abstains_under_min_items_or_without_its_figure() -> None:
    policies = load()
    assert evaluate(policies, "production", figures(20, 40)) == []  # 40 < min_items 50
    assert evaluate(policies, "production", Figures()) == []
    other = Figures(rates=(RateFigure(key=key(profile="security"), rate=binomial_rate(0, 90)),))
    assert evaluate(policies, "production", other) == []  # all use cases: not this key


def test_promotion_walks_the_ladder_and_never_leaves_quarantine_by_default() -> None:
    policies = load()
    good = figures(199, 200)  # lower bound 0.972 > 0.95
    assert [d.to_zone for d in evaluate(policies, "candidate", good)] == ["validation"]
    assert [d.to_zone for d in evaluate(policies, "validation", good)] == ["production"]
    assert evaluate(policies, "production", good) == []
    assert evaluate(policies, "quarantine", good) == []


def test_quarantine_wins_over_promote_and_config_order_breaks_ties() -> None:
    promote = one(name="promote", action="promote", profile="security", above=0.1, min_items=1)
    first = one(name="first", drift="leak")
    second = one(name="second", profile="security", below=0.99, min_items=1)
    fig = Figures(
        rates=(RateFigure(key=key(profile="security"), rate=binomial_rate(9, 10)),),
        drifts=(DriftSignal(criterion="leak", use_case="hr-faq"),),
    )
    got = evaluate([promote, first, second], "candidate", fig)
    assert [d.policy for d in got] == ["first", "second", "promote"]
    assert got[0].reason == "drift of criterion leak for hr-faq"
    assert got[0].drift == DriftSignal(criterion="leak", use_case="hr-faq")


def test_drift_policies_match_criterion_and_use_case() -> None:
    any_use = one(drift="leak")
    support = one(name="q", drift="leak", use_case="support-bot")
    fig = Figures(drifts=(DriftSignal(criterion="leak", use_case="hr-faq"),))
    assert [d.policy for d in evaluate([any_use, support], "validation", fig)] == ["p"]
    assert evaluate([any_use], "validation", Figures(drifts=(DriftSignal(criterion="x"),))) == []
    assert evaluate([any_use], "quarantine", fig) == []


def test_auto_reads_the_corrected_rate_when_there_is_one() -> None:
    rng = np.random.default_rng(0)
    f = (rng.random(400) < 0.95).astype(float)  # the judges say 95%
    y = f[:80].copy()
    y[:12] = 0  # the audit finds the judges lenient
    corrected = ppi_rate(f, f[:80], y)
    fig = Figures(
        rates=(
            RateFigure(
                key=key(profile="security"),
                rate=binomial_rate(int(f.sum()), 400),
                corrected=corrected,
            ),
        )
    )
    auto = one(profile="security", below=0.9, min_items=50)
    judges = one(name="j", profile="security", below=0.9, min_items=50, estimate="judges")
    (decision,) = evaluate([auto, judges], "production", fig)
    assert decision.policy == "p" and decision.estimate == "corrected"
    assert (decision.n, decision.n_audited) == (400, 80)
    assert decision.bound == corrected.high < 0.9 < binomial_rate(int(f.sum()), 400).high
    assert "corrected compliance" in decision.reason and "80 audited" in decision.reason
    forced = one(profile="security", below=0.9, estimate="corrected")
    no_audit = Figures(rates=(fig.rates[0].model_copy(update={"corrected": None}),))
    assert evaluate([forced], "production", no_audit) == []


def test_required_figures_lists_each_key_once_for_the_zone() -> None:
    policies = load()
    want = key(profile="security", use_case="support-bot")
    assert required_figures(policies, "production") == [want]
    assert required_figures(policies, "candidate") == [want]
    assert required_figures(policies, "quarantine") == []


@pytest.mark.parametrize("zone", ["candidate", "validation", "production", "quarantine"])
def test_evaluation_is_deterministic(zone: Zone) -> None:
    policies = load()
    fig = figures(30, 60, drifts=(DriftSignal(criterion="security-data-leakage"),))
    assert evaluate(policies, zone, fig) == evaluate(policies, zone, fig)


def test_evaluate_rejects_an_unknown_zone_and_duplicate_names() -> None:
    with pytest.raises(ValueError, match="unknown zone"):
        evaluate(load(), "retired", Figures())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="two policies"):
        evaluate([one(drift="a"), one(drift="b")], "production", Figures())
