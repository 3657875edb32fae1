"""Which model to route a use case to: the production model with the best lower bound.

Only models in `production` are eligible (never `quarantine`, nor candidates or models in
validation). Eligible models are ranked by the lower end of the 95% interval of their
compliance for the use case and profile: the PPI-corrected rate when the model has
audited items (`corrected` given), else the judges' Wilson rate. Ranking by the lower
bound, not the point rate, keeps a model with three lucky items (3/3: Wilson lower bound
0.44) from beating one with 970 compliant of 1000 (0.96). Ties on the bound (within
1e-12) go to the model with more items, then to the model name, so the answer is
deterministic. Every model is listed with its zone, figures and the reason it is or is
not chosen; with no eligible model the recommendation's model is None, with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from routing.governance.figures import Zone
from routing.governance.rates import CorrectedRate, Rate

__all__ = ["Candidate", "Ranked", "Recommendation", "rank"]

_FROZEN = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class Candidate(BaseModel):
    """One subject model, its zone and its compliance for the use case and profile."""

    model_config = _FROZEN

    model: str = Field(min_length=1)
    """The subject model."""
    zone: Zone
    """Its zone."""
    rate: Rate | None = None
    """The judges' rate with its Wilson interval; None with no decided item."""
    corrected: CorrectedRate | None = None
    """The PPI-corrected rate, when it has audited items."""


class Ranked(BaseModel):
    """A model in the ranking, with why it is or is not chosen."""

    model_config = _FROZEN

    model: str
    """The subject model."""
    zone: Zone
    """Its zone."""
    eligible: bool
    """In production and with a rate."""
    position: int | None
    """1 for the chosen model, 2 for the next...; None when not eligible."""
    estimate: Literal["judges", "corrected"] | None
    """Which rate it was ranked on."""
    n: int
    """Decided items the rate rests on (0 without a rate)."""
    n_audited: int
    """Audited items the corrected rate rests on (0 without)."""
    value: float | None
    """The rate."""
    low: float | None
    """Lower end of its interval: the ranking key."""
    high: float | None
    """Upper end."""
    reason: str
    """Why it is chosen, ranked lower, or not eligible."""


class Recommendation(BaseModel):
    """The model to serve a use case, with the whole ranking."""

    model_config = _FROZEN

    model: str | None
    """The chosen model; None when none qualifies."""
    use_case: str | None
    """The use case asked about."""
    profile: str | None
    """The profile the compliance is measured on."""
    ranking: tuple[Ranked, ...]
    """Eligible models by position, then the others by name."""
    reason: str
    """Why this model (or why none)."""


class _Fig(NamedTuple):
    estimate: Literal["judges", "corrected"] | None
    n: int
    n_audited: int
    value: float | None
    low: float | None
    high: float | None
    level: float


def _figures(c: Candidate) -> _Fig:
    if c.corrected is not None:
        r = c.corrected
        return _Fig("corrected", r.n_all, r.n_audited, r.value, r.low, r.high, r.level)
    if c.rate is not None:
        q = c.rate
        return _Fig("judges", q.n, 0, q.value, q.low, q.high, q.level)
    return _Fig(None, 0, 0, None, None, None, 0.95)


def _ranked(c: Candidate, fig: _Fig, position: int | None, reason: str) -> Ranked:
    return Ranked(
        model=c.model,
        zone=c.zone,
        eligible=position is not None,
        position=position,
        estimate=fig.estimate,
        n=fig.n,
        n_audited=fig.n_audited,
        value=fig.value,
        low=fig.low,
        high=fig.high,
        reason=reason,
    )


def rank(
    models: Sequence[Candidate],
    *,
    use_case: str | None = None,
    profile: str | None = None,
) -> Recommendation:
    """Rank `models` for a use case and profile (see the module docstring)."""
    names = [c.model for c in models]
    if len(set(names)) != len(names):
        raise ValueError("a model is listed twice")
    eligible: list[tuple[Candidate, _Fig]] = []
    others: list[Ranked] = []
    for c in models:
        fig = _figures(c)
        if c.zone == "production" and fig.low is not None:
            eligible.append((c, fig))
            continue
        why = (
            f"in {c.zone}, not production"
            if c.zone != "production"
            else "in production but no decided item for this use case and profile"
        )
        others.append(_ranked(c, fig, None, why))
    eligible.sort(key=lambda e: (-round(e[1].low or 0.0, 12), -e[1].n, e[0].model))
    ranked: list[Ranked] = []
    for pos, (c, fig) in enumerate(eligible, start=1):
        low = fig.low or 0.0
        label = "corrected" if fig.estimate == "corrected" else "judges'"
        figures = f"{label} lower bound {low:.3f} (rate {fig.value:.3f}, n={fig.n})"
        if pos == 1:
            why = f"highest {figures}"
        else:
            best = ranked[0]
            why = f"{figures} vs {best.low:.3f} for {best.model}"
            if round(low, 12) == round(best.low or 0.0, 12):
                why += f" (tie on the bound: fewer items than {best.model}'s {best.n})"
        ranked.append(_ranked(c, fig, pos, why))
    others.sort(key=lambda r: r.model)
    scope = " and ".join(
        s
        for s in (
            f"use case {use_case}" if use_case else "",
            f"profile {profile}" if profile else "",
        )
        if s
    )
    scope = f" for {scope}" if scope else ""
    if ranked:
        top = ranked[0]
        level = eligible[0][1].level
        reason = (
            f"{top.model} has the highest lower {level:.0%} bound ({top.low:.3f}) "
            f"in production{scope}"
        )
        model: str | None = top.model
    else:
        reason = f"no model in production has a compliance figure{scope}"
        model = None
    return Recommendation(
        model=model,
        use_case=use_case,
        profile=profile,
        ranking=(*ranked, *others),
        reason=reason,
    )
