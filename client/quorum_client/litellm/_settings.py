"""The callback's settings: arguments, or QUORUM_* environment variables (for a LiteLLM
proxy config that names `quorum_client.litellm.callback` and nothing else)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from quorum_client.litellm._extract import USE_CASE

OnQuarantine = Literal["refuse", "reroute", "allow"]
ENV = {
    "url": "QUORUM_URL",
    "api_key": "QUORUM_API_KEY",
    "panel": "QUORUM_CALLBACK_PANEL",
    "profile": "QUORUM_CALLBACK_PROFILE",
    "sample": "QUORUM_CALLBACK_SAMPLE",
    "use_case": "QUORUM_CALLBACK_USE_CASE",
    "queue_size": "QUORUM_CALLBACK_QUEUE_SIZE",
    "on_quarantine": "QUORUM_CALLBACK_ON_QUARANTINE",
    "zone_ttl_s": "QUORUM_CALLBACK_ZONE_TTL_S",
    "lookup_timeout_s": "QUORUM_CALLBACK_LOOKUP_TIMEOUT_S",
    "timeout_s": "QUORUM_CALLBACK_TIMEOUT_S",
    "app": "QUORUM_CALLBACK_APP",
}
"""The environment variable of each setting (`from_env`)."""


class CallbackSettings(BaseModel):
    """What `QuorumCallback` sends where, and what its pre-call hook does."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(default="http://127.0.0.1:8000", min_length=1)
    """The Quorum service."""
    api_key: str | None = None
    """A key with the `evaluate` scope (it reads zones and the recommendation too)."""
    panel: str | None = Field(default=None, min_length=1, max_length=64)
    """Judge each sampled completion on this pointwise panel..."""
    profile: str | None = Field(default=None, min_length=1, max_length=64)
    """...or assess it with this profile (exactly one of the two). The profile is also
    the one the reroute asks the recommendation for."""
    sample: float = Field(default=1.0, ge=0.0, le=1.0)
    """Share of successful completions sent (drawn independently per call)."""
    use_case: str | None = Field(default=None, pattern=USE_CASE.pattern)
    """Use case when the call's metadata names none (`metadata.quorum.use_case` or
    `metadata.use_case`)."""
    queue_size: int = Field(default=1000, ge=1, le=1_000_000)
    """Completions waiting to be sent at most; more are dropped and counted."""
    on_quarantine: OnQuarantine = "refuse"
    """Proxy pre-call hook, for a model in quarantine: refuse the call (403), reroute it
    to the recommended model (refused if there is none), or allow it."""
    zone_ttl_s: float = Field(default=30.0, ge=0.0)
    """How long a model's zone (and a recommendation) is cached."""
    lookup_timeout_s: float = Field(default=2.0, gt=0.0)
    """The hook's lookup timeout; past it the call goes through (fails open)."""
    timeout_s: float = Field(default=10.0, gt=0.0)
    """The background sender's request timeout."""
    app: str | None = Field(default=None, min_length=1, max_length=128)
    """`metadata.app` of what is sent (labels Quorum's metrics)."""
    seed: int | None = None
    """Seed of the sampling draws (tests); None draws from the OS."""

    @model_validator(mode="after")
    def _one_target(self) -> CallbackSettings:
        if (self.panel is None) == (self.profile is None):
            raise ValueError("give exactly one of 'panel' and 'profile'")
        if self.on_quarantine == "reroute" and self.profile is None:
            raise ValueError(
                "on_quarantine 'reroute' needs 'profile': the recommendation ranks models by "
                "their compliance on a profile"
            )
        return self

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **given: Any) -> CallbackSettings:
        """Settings from QUORUM_* variables (see `ENV`), `given` arguments winning."""
        environ = os.environ if environ is None else environ
        found = {k: environ[v] for k, v in ENV.items() if environ.get(v)}
        return cls.model_validate({**found, **given})
