"""Service settings, from `QUORUM_*` environment variables (pydantic-settings).

Every number has both bounds, so a value the service cannot run with (an infinite lease
grace, a retention of a million days, 10^12 concurrent evaluations, a NaN) is a one-line
error naming the variable at start-up, not an overflow in a background task later; each
upper bound still computes (a lease, a retention cutoff, a cache expiry) without one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.services.webhook_targets import parse_allow
from rubrics.redact import Redactor

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
"""uvicorn's log levels (`QUORUM_LOG_LEVEL`)."""
SHORTEST_S = 0.1
"""The shortest timeout or interval: below it a loop or a timer only burns CPU."""
HOUR_S = 3600
DAY_S = 86_400
GIB = 1 << 30
INT32_MAX = 2**31 - 1
MAX_LABELS = 10_000
"""The largest cap on a metric label's values (the cap is there to bound cardinality)."""


class Settings(BaseSettings):
    """Everything the service reads from its environment. Read only in `api`."""

    model_config = SettingsConfigDict(env_prefix="QUORUM_", extra="ignore", allow_inf_nan=False)

    database_url: str = "sqlite:///quorum.db"
    """SQLAlchemy URL: a SQLite file by default; `postgresql+psycopg://...` for replicas."""
    config: Path = Path("quorum.yaml")
    """The judges-and-panels YAML file."""
    auto_migrate: bool = True
    """Apply Alembic migrations at start-up (turn off when a migration job does it)."""
    max_body_bytes: int = Field(default=1_048_576, gt=0, le=GIB)
    """Requests with a larger body get 413. At most 1 GiB: a body is held in memory."""
    body_timeout_s: float = Field(default=10.0, ge=SHORTEST_S, le=HOUR_S)
    """Longest wait for each chunk of a request body; slower is 408 (0.1 s to an hour)."""
    header_timeout_s: float = Field(default=10.0, ge=SHORTEST_S, le=HOUR_S)
    """`quorum serve`: a connection that has not sent a request's headers within this is
    closed (half-sent requests cannot hold connections); 0.1 s to an hour."""
    limit_concurrency: int = Field(default=1000, ge=1, le=1_000_000)
    """`quorum serve`: connections and requests at once per worker; beyond, 503 (at most
    a million: more than a process has file descriptors)."""
    timeout_keep_alive_s: int = Field(default=5, ge=1, le=HOUR_S)
    """`quorum serve`: idle keep-alive connections are closed after this (1 s to an hour)."""
    db_pool_size: int = Field(default=10, ge=1, le=1000)
    """Database connections per process (PostgreSQL allows 100 in all by default)."""
    log_level: str = "info"
    rate_limit_per_min: int = Field(default=600, ge=0, le=INT32_MAX)
    """Default requests per minute per API key (0: unlimited); a key may set its own.
    At most 2^31 - 1, as a key's own (`quorum keys create --rate-limit`)."""
    metrics_apps: list[str] = Field(default_factory=list)
    """Allowed `app` label values (a JSON list); empty: the first `metrics_max_apps` seen."""
    metrics_max_apps: int = Field(default=20, ge=1, le=MAX_LABELS)
    metrics_models: list[str] = Field(default_factory=list)
    """Allowed `model` label values (subject models, a JSON list); empty: the first
    `metrics_max_models` seen."""
    metrics_max_models: int = Field(default=20, ge=1, le=MAX_LABELS)
    metrics_use_cases: list[str] = Field(default_factory=list)
    """Allowed `use_case` label values (a JSON list); empty: the first
    `metrics_max_use_cases` seen."""
    metrics_max_use_cases: int = Field(default=20, ge=1, le=MAX_LABELS)
    metrics_tenants: list[str] = Field(default_factory=list)
    """Allowed `tenant` label values of the drift series (a JSON list); empty: the first
    `metrics_max_tenants` seen."""
    metrics_max_tenants: int = Field(default=20, ge=1, le=MAX_LABELS)
    stats_window: str = "24h"
    """Window of the agreement gauges (`quorum_panel_fleiss_kappa`...)."""
    stats_max_items: int = Field(default=20_000, ge=10, le=1_000_000)
    """The newest evaluations of a window that a `weighted` panel's reliability weights
    (a Dawid-Skene fit, in memory: at most a million) are fitted on. The agreement figures
    themselves cover the whole window (per-hour pattern counts), whatever its size."""
    max_concurrent_evaluations: int = Field(default=64, ge=1, le=10_000)
    """Evaluations judged at once by this process (single, batch, async, resumed); at most
    10 000 (each fans out to its judges: more would only exhaust memory and sockets)."""
    max_queued_evaluations: int | None = Field(default=None, ge=0, le=100_000)
    """Evaluations that may wait for a judging slot on top of those being judged; beyond
    that, requests get 503 with Retry-After (nothing stored). None: as many as
    `max_concurrent_evaluations`. At most 100 000 (each holds its request in memory)."""
    batch_max_items: int = Field(default=100, ge=1, le=10_000)
    """Items per batch request; more is 413."""
    auth: Literal["auto", "on", "off"] = "auto"
    """API keys: `auto` requires them once any key has been created (revoked ones count);
    `on` always; `off` never (open mode, which `quorum serve` refuses on non-loopback
    addresses)."""
    webhook_secret: str | None = None
    """Signs webhook deliveries of requests made without an API key (open mode)."""
    webhook_allow: list[str] = Field(default_factory=list)
    """CIDRs and host names webhooks may reach although not public (a JSON list, e.g.
    `["10.1.0.0/16", "hooks.internal"]`); empty: public addresses only."""
    webhook_per_key: int = Field(default=4, ge=1, le=256)
    """Webhook deliveries of one submitting key in flight at once, per process."""
    vote_cache: Literal["off", "database", "redis"] = "off"
    """Exact-duplicate caching of judge answers (same judge config, same rendered prompt)."""
    vote_cache_ttl_s: int = Field(default=7 * DAY_S, ge=1, le=3650 * DAY_S)
    """How long a cached judge answer is reused; at most ten years."""
    redis_url: str = "redis://127.0.0.1:6379/0"
    """Used when vote_cache is "redis"."""
    lease_grace_s: float = Field(default=30.0, ge=SHORTEST_S, le=DAY_S)
    """Added to a panel's deadline to form the lease on an evaluation being judged; past
    it, any replica may resume the evaluation (its worker is presumed dead). 0.1 s (the
    lease is renewed every third of it) to a day."""
    sweep_interval_s: float = Field(default=30.0, ge=SHORTEST_S, le=DAY_S)
    """How often each replica looks for evaluations to resume (0.1 s to a day). Each
    replica also renews the leases of the evaluations it holds every `lease_grace_s / 3`."""
    retention_days: int | None = Field(default=None, ge=1, le=36_500)
    """Delete evaluations (votes, reviews) older than this many days (at most 100 years);
    None keeps all."""
    redact: list[str] = Field(default_factory=list)
    """Patterns redacted from judged texts before they are stored or sent to judges
    (a JSON list): email, phone, credit_card, api_key, ipv4, or "re:<regex>"."""
    gauge_refresh_s: float = Field(default=30.0, ge=SHORTEST_S, le=DAY_S)
    """How often database-derived gauges are recomputed (0.1 s to a day)."""
    judge_check_interval_s: float = Field(default=60.0, ge=0, le=DAY_S)
    """How often every judge is checked (key present, a one-token call answered); the
    first check runs at start-up and `/readyz` reports the last one. 0: no checks, and
    readiness does not look at judges; else 1 s (each check is a paid call per judge) to
    a day."""
    jury_check_s: float = Field(default=60.0, ge=SHORTEST_S, le=DAY_S)
    """How often each replica loads the newest jury models and checks whether one is due
    for a refit (0.1 s to a day)."""
    jury_refit_s: float = Field(default=3600.0, ge=1, le=30 * DAY_S)
    """A jury panel's model is refitted at least this often while new evaluations arrive
    (1 s to 30 days)."""
    jury_refit_labels: int = Field(default=10, ge=1, le=1_000_000)
    """...and as soon as this many new human verdicts (reviews, audits) arrived."""
    jury_max_items: int = Field(default=200_000, ge=100, le=10_000_000)
    """Unlabelled evaluations a refit reads at most (the newest); every human-labelled one
    is always read. Bounds a refit's time and memory however large the history."""

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().lower()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}; got {value!r}")
        return level

    @field_validator("judge_check_interval_s")
    @classmethod
    def _off_or_a_second(cls, value: float) -> float:
        if 0 < value < 1:
            raise ValueError(f"must be 0 (no checks) or at least 1 second; got {value}")
        return value

    @field_validator("stats_window")
    @classmethod
    def _window_parses(cls, value: str) -> str:
        # Here, not at the top: routing loads the statistics stack, which commands that
        # need no config do without (`quorum --version`, `quorum keys`).
        from routing.governance.window import parse_window

        parse_window(value)  # raises ValueError saying what a window looks like
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        from api.store.engine import unsupported_backend

        problem = unsupported_backend(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"must start with redis://, rediss:// or unix://; got {value!r}")
        return value

    @field_validator("webhook_allow")
    @classmethod
    def _allow_parses(cls, value: list[str]) -> list[str]:
        parse_allow(value)  # raises ValueError naming the bad entry
        return value

    @field_validator("redact")
    @classmethod
    def _patterns_compile(cls, value: list[str]) -> list[str]:
        Redactor(value)  # raises ValueError naming the bad pattern
        return value
