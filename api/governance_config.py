"""The `governance:` and `policies:` sections of quorum.yaml (docs/governance.md).

```yaml
governance:
  sweep_interval_s: 30        # how often the drift sweep and the policies run
  false_alarm_rate: 0.0001    # tolerated false drift alarms per in-control verdict
  shift: 2.0                  # the rise of non-compliance to detect (odds ratio)
  baseline_items: 1000        # verdicts per stream that estimate its in-control rate
  baseline_confidence: 0.9    # design for the baseline rate's 90% upper bound
  window: 7d                  # window of the compliance gauges
policies:
  - {name: quarantine-on-leak-drift, action: quarantine, drift: security-data-leakage}
```

The policy language itself is `routing.governance.Policy`; here it is cross-checked
against the profiles and panels (one-line `ConfigError` naming file and key).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from api.errors import ConfigError
from api.profiles import Profile
from routing.governance import CusumSpec, Policy, Window

_SPEC = CusumSpec()
"""The statistics' defaults (`routing.governance.CusumSpec`), the config's too."""


class GovernanceConfig(BaseModel):
    """How governance runs: the sweep, the drift charts, the gauges' window."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    sweep_interval_s: float = Field(default=30.0, gt=0, le=86_400)
    """How often each replica runs the drift sweep and then the policies."""
    settle_s: float = Field(default=1.0, ge=0, le=600)
    """A verdict is read by the sweep once it is this old (a transaction writing an
    older one may still be committing)."""
    false_alarm_rate: float = Field(default=_SPEC.false_alarm_rate, ge=1e-6, lt=0.5)
    """Tolerated false drift alarms per in-control verdict: in-control ARL 1 / rate."""
    shift: float = Field(default=_SPEC.shift, gt=1.0, le=1000.0)
    """The rise of a stream's non-compliance to detect, as an odds ratio."""
    baseline_items: int = Field(default=_SPEC.baseline_items, ge=10, le=1_000_000)
    """Verdicts of a stream counted to estimate its in-control rate before it is watched."""
    baseline_confidence: float | None = Field(default=_SPEC.baseline_confidence, gt=0, lt=1)
    """The chart is designed for the baseline rate's upper confidence bound at this level
    (the stated false-alarm rate then holds with this probability); null: the point
    estimate."""
    p0: float | None = Field(default=None, gt=0.0, lt=1.0)
    """A fixed in-control non-compliance rate for every stream instead of a baseline."""
    window: Window = timedelta(days=7)
    """Window of the compliance gauges (`quorum_compliance_rate`...)."""

    @property
    def cusum(self) -> CusumSpec:
        return CusumSpec(
            p0=self.p0,
            baseline_items=self.baseline_items,
            baseline_confidence=self.baseline_confidence,
            shift=self.shift,
            false_alarm_rate=self.false_alarm_rate,
        )


def check_policies(
    path: Path, policies: tuple[Policy, ...], profiles: dict[str, Profile], panels: set[str]
) -> None:
    """Every profile, criterion and drift criterion a policy names exists."""
    criteria = set(panels) | {c.panel for p in profiles.values() for c in p.criteria}
    for i, policy in enumerate(policies):
        where = f"policies[{i}]"
        if policy.profile is not None and policy.profile not in profiles:
            known = ", ".join(sorted(profiles)) or "none"
            raise ConfigError(
                path, f"{where}.profile", f"unknown profile {policy.profile!r} (known: {known})"
            )
        for key, name in (("criterion", policy.criterion), ("drift", policy.drift)):
            if name is not None and name not in criteria:
                raise ConfigError(
                    path,
                    f"{where}.{key}",
                    f"unknown criterion {name!r}: a criterion is a panel "
                    f"(known: {', '.join(sorted(criteria))})",
                )
