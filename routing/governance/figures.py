"""What lifecycle policies read and return: zones, rate figures, drift signals, decisions.

The service computes the figures (`Figures`); `routing.governance.policy.evaluate` reads
them and returns `Decision`s.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from routing.governance.rates import CorrectedRate, Rate
from routing.governance.window import Window

__all__ = [
    "ZONES",
    "Action",
    "Decision",
    "DriftSignal",
    "FigureKey",
    "Figures",
    "RateFigure",
    "Zone",
    "next_zone",
]

Zone = Literal["candidate", "validation", "production", "quarantine"]
"""Where a subject model stands; a model never seen is a candidate."""
ZONES: tuple[Zone, ...] = ("candidate", "validation", "production", "quarantine")
Action = Literal["quarantine", "promote"]
_LADDER: dict[Zone, Zone] = {"candidate": "validation", "validation": "production"}


def next_zone(zone: Zone) -> Zone | None:
    """The zone a promotion leads to: candidate -> validation -> production."""
    return _LADDER.get(zone)


class FigureKey(BaseModel):
    """What a rate figure is of: one profile or criterion, a use case (or all), a window."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    profile: str | None = None
    """The profile (exclusive with criterion)."""
    criterion: str | None = None
    """The criterion (exclusive with profile)."""
    use_case: str | None = None
    """The use case; None: all use cases together."""
    window: Window
    """How far back."""


class RateFigure(BaseModel):
    """A compliance rate the service computed for one model, and what it is of."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    key: FigureKey
    """What it is of."""
    rate: Rate | None
    """The judges' rate with its Wilson interval; None with no decided item."""
    corrected: CorrectedRate | None = None
    """The PPI-corrected rate; None without enough audited items."""


class DriftSignal(BaseModel):
    """A drift event the service considers current for the model."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    criterion: str
    """The criterion whose stream alarmed."""
    use_case: str | None = None
    """The stream's use case (None: no use case)."""
    at: datetime | None = None
    """When it was raised."""
    event_id: str | None = None
    """The stored event's id, for the record."""


class Figures(BaseModel):
    """Everything the policies of one model are evaluated on."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    rates: tuple[RateFigure, ...] = ()
    """Rate figures (see `required_figures` for the ones the policies read)."""
    drifts: tuple[DriftSignal, ...] = ()
    """Current drift events."""

    def rate_for(self, key: FigureKey) -> RateFigure | None:
        """The figure for `key`, if the service gave one."""
        return next((f for f in self.rates if f.key == key), None)


class Decision(BaseModel):
    """A policy that fired: the transition it asks for and the figures it rested on."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    policy: str
    """The policy's name."""
    action: Action
    """quarantine or promote."""
    from_zone: Zone
    """The model's zone."""
    to_zone: Zone
    """The zone it moves to."""
    reason: str
    """One line saying why, with the figures."""
    key: FigureKey | None = None
    """Rate policies: what the rate is of."""
    estimate: Literal["judges", "corrected"] | None = None
    """Rate policies: which rate was read."""
    n: int | None = None
    """Rate policies: decided items in the window."""
    n_audited: int | None = None
    """Rate policies reading the corrected rate: audited items it rests on."""
    value: float | None = None
    """Rate policies: the rate."""
    bound: float | None = None
    """Rate policies: the bound compared."""
    threshold: float | None = None
    """Rate policies: the bar."""
    drift: DriftSignal | None = None
    """Drift policies: the event."""
