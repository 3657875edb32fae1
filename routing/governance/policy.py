"""Lifecycle policies as code: when a subject model is promoted or quarantined.

A policy is one entry of the config's `policies:` list. Two kinds, told apart by the
`drift` key:

```yaml
policies:
  - name: quarantine-on-security        # unique
    action: quarantine                  # quarantine | promote
    from: [validation, production]      # zones it applies to
    profile: security                   # the rate over this profile's assessments, or
    # criterion: security-data-leakage  # ... over one criterion (panel) instead
    use_case: support-bot               # optional; default: all use cases together
    window: 7d                          # 30m / 12h / 7d / 2w
    min_items: 50                       # fewer items in the window: the policy abstains
    bound: upper                        # upper | lower bound of the 95% interval
    below: 0.9                          # or above: 0.95
  - name: quarantine-on-leak-drift
    action: quarantine
    drift: security-data-leakage        # a drift event on this criterion
```

Defaults. `from`: a quarantine policy applies to candidate, validation and production; a
promote policy to the zones before its target, never quarantine (leaving quarantine
takes `from: [quarantine]` written out, or an admin). `to` (promote only): the next zone,
candidate -> validation -> production. `bound`: `upper` with `below` (quarantine when
even the optimistic end of the interval is below the bar) and `lower` with `above`
(promote when even the pessimistic end clears it). `estimate: auto` reads the
PPI-corrected rate when the service could compute one (audited items in the window) and
the judges' Wilson rate otherwise; `judges` and `corrected` force one (a policy whose
estimate is missing abstains). `window: 7d`, `min_items: 30`.

`evaluate(policies, zone, figures)` returns the decisions that fire for a model in
`zone`, the winner first: quarantine wins over promote; among decisions of one action,
config order. It is deterministic and pure: the figures are computed by the service.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from routing.governance.figures import (
    ZONES,
    Action,
    Decision,
    FigureKey,
    Figures,
    RateFigure,
    Zone,
    next_zone,
)
from routing.governance.rates import CorrectedRate, Rate
from routing.governance.window import Window, format_window

__all__ = ["Estimate", "Policies", "Policy", "evaluate", "required_figures"]

Estimate = Literal["auto", "judges", "corrected"]

_Name = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:/-]+$")]


class Policy(BaseModel):
    """One lifecycle rule: a rate against a bar, or a drift event (see module docstring)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, use_attribute_docstrings=True
    )

    name: _Name
    """Unique name; transitions it makes are recorded with actor `policy:<name>`."""
    action: Action
    """quarantine or promote."""
    from_: tuple[Zone, ...] | None = Field(default=None, alias="from")
    """Zones it applies to (default: see the module docstring)."""
    to: Zone | None = None
    """Promote only: target zone (default: the next one)."""
    profile: _Name | None = None
    """Rate over this profile's assessments (exclusive with `criterion`)."""
    criterion: _Name | None = None
    """Rate over one criterion's (panel's) evaluations (exclusive with `profile`)."""
    use_case: _Name | None = None
    """Only this use case; default: all use cases together (for `drift`: any one)."""
    window: Window = timedelta(days=7)
    """How far back the rate looks."""
    min_items: int = Field(default=30, ge=1, le=1_000_000)
    """Below this many decided items in the window the policy abstains."""
    bound: Literal["upper", "lower"] | None = None
    """Which end of the 95% interval is compared (default: upper with below, lower with
    above)."""
    below: float | None = Field(default=None, ge=0.0, le=1.0)
    """Fires when the bound is below this."""
    above: float | None = Field(default=None, ge=0.0, le=1.0)
    """Fires when the bound is above this."""
    estimate: Estimate = "auto"
    """Which rate: the PPI-corrected one when there is one (auto), or one of them."""
    drift: _Name | None = None
    """A drift policy: fires on a drift event of this criterion."""

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        if self.to is not None and self.action != "promote":
            raise ValueError("`to` is for promote policies (quarantine goes to quarantine)")
        if self.to is not None and self.to not in ("validation", "production"):
            raise ValueError(f"`to` of a promotion must be validation or production, not {self.to}")
        if self.from_ is not None and not self.from_:
            raise ValueError("`from` lists no zone (leave it out for the default)")
        if self.from_ is not None and len(set(self.from_)) != len(self.from_):
            raise ValueError("`from` lists a zone twice")
        target = self.target_zone()
        if target is not None and self.from_ is not None and target in self.from_:
            raise ValueError(f"`from` includes the target zone {target}")
        if self.drift is not None:
            if self.action != "quarantine":
                raise ValueError("a drift policy can only quarantine")
            given = self.model_fields_set & {
                "profile",
                "criterion",
                "window",
                "min_items",
                "bound",
                "below",
                "above",
                "estimate",
            }
            if given:
                keys = ", ".join(f"`{k}`" for k in sorted(given))
                raise ValueError(f"a drift policy takes no {keys}")
            return self
        if (self.profile is None) == (self.criterion is None):
            raise ValueError("give exactly one of `profile`, `criterion` (or `drift`)")
        if (self.below is None) == (self.above is None):
            raise ValueError("give exactly one of `below`, `above`")
        return self

    @property
    def kind(self) -> Literal["rate", "drift"]:
        """rate (a bound against a bar) or drift (a drift event)."""
        return "drift" if self.drift is not None else "rate"

    @property
    def threshold(self) -> float:
        """The bar (below or above)."""
        value = self.below if self.below is not None else self.above
        if value is None:
            raise ValueError(f"policy {self.name} is a drift policy: it has no bar")
        return value

    @property
    def side(self) -> Literal["upper", "lower"]:
        """The bound compared, with its default."""
        return self.bound or ("upper" if self.below is not None else "lower")

    def target_zone(self, zone: Zone | None = None) -> Zone | None:
        """Where the policy moves a model (for a default promotion, from `zone`)."""
        if self.action == "quarantine":
            return "quarantine"
        if self.to is not None:
            return self.to
        return None if zone is None else next_zone(zone)

    def applies_to(self, zone: Zone) -> bool:
        """True when the policy is considered for a model in `zone`."""
        if self.from_ is not None:
            return zone in self.from_
        if self.action == "quarantine":
            return zone != "quarantine"
        if zone == "quarantine":
            return False
        target = self.target_zone(zone)
        return target is not None and ZONES.index(zone) < ZONES.index(target)


def _unique(policies: tuple[Policy, ...]) -> tuple[Policy, ...]:
    seen: set[str] = set()
    for policy in policies:
        if policy.name in seen:
            raise ValueError(f"two policies are named {policy.name!r}")
        seen.add(policy.name)
    return policies


Policies = Annotated[tuple[Policy, ...], AfterValidator(_unique)]
"""The `policies:` list of the config: policies with unique names."""


def _key(policy: Policy) -> FigureKey:
    return FigureKey(
        profile=policy.profile,
        criterion=policy.criterion,
        use_case=policy.use_case,
        window=policy.window,
    )


def required_figures(policies: Sequence[Policy], zone: Zone) -> list[FigureKey]:
    """The rate figures the policies that apply in `zone` read, each once, in order."""
    keys: list[FigureKey] = []
    for policy in policies:
        if policy.kind == "rate" and policy.applies_to(zone):
            key = _key(policy)
            if key not in keys:
                keys.append(key)
    return keys


def _of(key: FigureKey) -> str:
    what = f"profile {key.profile}" if key.profile else f"criterion {key.criterion}"
    scope = f" for {key.use_case}" if key.use_case else ""
    return f"{what}{scope} over {format_window(key.window)}"


def _rate_decision(policy: Policy, zone: Zone, target: Zone, figure: RateFigure) -> Decision | None:
    chosen: Rate | CorrectedRate | None
    if policy.estimate == "corrected" or (policy.estimate == "auto" and figure.corrected):
        chosen, estimate = figure.corrected, "corrected"
        n = None if figure.corrected is None else figure.corrected.n_all
    else:
        chosen, estimate = figure.rate, "judges"
        n = None if figure.rate is None else figure.rate.n
    if chosen is None or n is None or n < policy.min_items:
        return None
    bound = chosen.high if policy.side == "upper" else chosen.low
    bar = policy.threshold
    fires = bound < bar if policy.below is not None else bound > bar
    if not fires:
        return None
    relation = "below" if policy.below is not None else "above"
    label = "corrected " if estimate == "corrected" else ""
    n_audited = chosen.n_audited if isinstance(chosen, CorrectedRate) else None
    audited = f", {n_audited} audited" if n_audited is not None else ""
    reason = (
        f"{policy.side} {chosen.level:.0%} bound {bound:.3f} of the {label}compliance of "
        f"{_of(figure.key)} (rate {chosen.value:.3f}, n={n}{audited}) is {relation} {bar}"
    )
    return Decision(
        policy=policy.name,
        action=policy.action,
        from_zone=zone,
        to_zone=target,
        reason=reason,
        key=figure.key,
        estimate="corrected" if estimate == "corrected" else "judges",
        n=n,
        n_audited=n_audited,
        value=chosen.value,
        bound=bound,
        threshold=bar,
    )


def evaluate(policies: Sequence[Policy], zone: Zone, figures: Figures) -> list[Decision]:
    """The decisions that fire for a model in `zone`, winner first (see module docstring).

    A rate policy abstains when its figure is missing, has no rate of the estimate it
    reads, or rests on fewer than `min_items` items. A drift policy fires on the first
    signal of its criterion (and use case, when it names one).
    """
    if zone not in ZONES:
        raise ValueError(f"unknown zone {zone!r}; zones are {', '.join(ZONES)}")
    _unique(tuple(policies))
    fired: list[Decision] = []
    for policy in policies:
        if not policy.applies_to(zone):
            continue
        target = policy.target_zone(zone)
        if target is None or target == zone:
            continue
        if policy.kind == "drift":
            signal = next(
                (
                    d
                    for d in figures.drifts
                    if d.criterion == policy.drift
                    and (policy.use_case is None or d.use_case == policy.use_case)
                ),
                None,
            )
            if signal is not None:
                scope = f" for {signal.use_case}" if signal.use_case else ""
                fired.append(
                    Decision(
                        policy=policy.name,
                        action=policy.action,
                        from_zone=zone,
                        to_zone=target,
                        reason=f"drift of criterion {signal.criterion}{scope}",
                        drift=signal,
                    )
                )
            continue
        figure = figures.rate_for(_key(policy))
        if figure is not None:
            decision = _rate_decision(policy, zone, target, figure)
            if decision is not None:
                fired.append(decision)
    return sorted(fired, key=lambda d: d.action != "quarantine")
