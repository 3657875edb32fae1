"""The callback's settings: arguments, or QUORUM_* environment variables (for a LiteLLM
proxy config that names `quorum_client.litellm.callback` and nothing else).

A bad value is refused when the callback is built, so a proxy with a wrong setting does not
start: `CallbackSettings(...)` raises pydantic's `ValidationError`, `from_env` a
`CallbackSettingsError` whose message is one line naming each bad variable.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from quorum_client._arguments import key_problem, url_problem, without_password
from quorum_client.litellm._extract import USE_CASE

log = logging.getLogger("quorum_client.litellm")

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
PREFIX = "QUORUM_CALLBACK_"
KNOWN = [v for v in ENV.values() if v.startswith(PREFIX)]
NAME = r"^[a-z0-9][a-z0-9_-]{0,63}$"
"""A panel or profile name as the service's config allows it."""


class CallbackSettingsError(ValueError):
    """QUORUM_* variables (or `from_env` arguments) the callback cannot run with; the
    message is one line naming each of them."""


class CallbackSettings(BaseModel):
    """What `QuorumCallback` sends where, and what its pre-call hook does."""

    # Errors do not echo their input: one of them is the API key.
    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, hide_input_in_errors=True
    )

    url: str = "http://127.0.0.1:8000"
    """The Quorum service: http(s)://host[:port], optionally with a path prefix."""
    api_key: str | None = None
    """A key with the `evaluate` scope (it reads zones and the recommendation too)."""
    panel: str | None = Field(default=None, pattern=NAME)
    """Judge each sampled completion on this pointwise panel..."""
    profile: str | None = Field(default=None, pattern=NAME)
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
    zone_ttl_s: float = Field(default=30.0, ge=0.0, le=86_400.0)
    """How long a model's zone (and a recommendation) is cached, at most a day: a move
    to quarantine takes effect in the proxy within this time."""
    lookup_timeout_s: float = Field(default=2.0, gt=0.0, le=300.0)
    """The hook's lookup deadline (the whole lookup); past it the call goes through
    (fails open). The application's call waits for it, so at most 5 minutes."""
    timeout_s: float = Field(default=10.0, gt=0.0, le=3600.0)
    """The background sender's request timeout, at most an hour."""
    app: str | None = Field(default=None, min_length=1, max_length=128)
    """`metadata.app` of what is sent (labels Quorum's metrics)."""
    seed: int | None = None
    """Seed of the sampling draws (tests); None draws from the OS."""

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        if (problem := url_problem(url)) is not None:
            raise ValueError(f"the URL {problem}")
        return url

    @field_validator("api_key")
    @classmethod
    def _key(cls, key: str | None) -> str | None:
        if key == "":  # as the REST client takes it, and an empty QUORUM_API_KEY: no key
            return None
        if key is not None and (problem := key_problem(key)) is not None:
            raise ValueError(f"the key {problem}")
        return key

    @model_validator(mode="after")
    def _one_target(self) -> CallbackSettings:
        if (self.panel is None) == (self.profile is None):
            raise ValueError(
                "give exactly one of 'panel' and 'profile' (QUORUM_CALLBACK_PANEL, "
                "QUORUM_CALLBACK_PROFILE)"
            )
        if self.on_quarantine == "reroute" and self.profile is None:
            raise ValueError(
                "on_quarantine 'reroute' needs 'profile': the recommendation ranks models by "
                "their compliance on a profile"
            )
        return self

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **given: Any) -> CallbackSettings:
        """Settings from QUORUM_* variables (see `ENV`), `given` arguments winning. A
        value out of bounds raises `CallbackSettingsError` (one line). An empty variable
        is unset (Compose and Helm templates write `${QUORUM_API_KEY:-}`); a
        QUORUM_CALLBACK_* variable that is no setting (a typo, or a setting of a newer
        client) is a warning, naming the one it may have meant."""
        environ = os.environ if environ is None else environ
        found: dict[str, str] = {}
        for field, variable in ENV.items():
            value = environ.get(variable)
            if value is not None and value.strip() and field not in given:
                found[field] = value
        for variable in sorted(environ):
            if variable.startswith(PREFIX) and variable not in KNOWN:
                log.warning("quorum callback: %s", _unknown(variable))
        try:
            return cls.model_validate({**found, **given})
        except ValidationError as exc:
            problems = [_explain(error, found) for error in exc.errors()]
        raise CallbackSettingsError("quorum callback: " + "; ".join(problems)) from None


def _unknown(variable: str) -> str:
    """A QUORUM_CALLBACK_* variable that is no setting, with the one it may have meant."""
    names = [v.removeprefix(PREFIX) for v in KNOWN]
    like = difflib.get_close_matches(variable.removeprefix(PREFIX), names, n=1, cutoff=0.75)
    hint = f"did you mean {PREFIX}{like[0]}?" if like else f"the settings: {', '.join(KNOWN)}"
    return f"{variable} is not a setting ({hint})"


def _explain(error: Any, found: Mapping[str, str]) -> str:
    """One pydantic error as `QUORUM_X='value': what is wrong` (the key's value unshown)."""
    loc = error.get("loc") or ()
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    field = str(loc[0]) if loc else None
    if field is None:
        return message
    if field not in found:  # an argument
        return f"{field}: {message}"
    shown = "" if field == "api_key" else "=" + repr(without_password(found[field])[:60])
    return f"{ENV[field]}{shown}: {message}"
