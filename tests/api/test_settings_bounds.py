"""Every numeric QUORUM_* setting has both bounds: a value that validated but broke the
server later (a lease grace of 1e300 overflowed timedelta, a retention of a million days
overflowed the date, 10^12 concurrent evaluations, a NaN) is a one-line settings error
naming the variable at start-up; and the largest values allowed still compute."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any, get_args

import annotated_types
import pytest

from api.cli_common import SettingsProblem, load_settings
from api.settings import Settings
from tests.support import quorum_cli


def numeric_fields() -> dict[str, Any]:
    """The settings whose type is a number (or a number or None)."""
    numbers = {int, float}
    return {
        name: field
        for name, field in Settings.model_fields.items()
        if field.annotation in numbers or numbers & set(get_args(field.annotation))
    }


ATTRIBUTE = {
    annotated_types.Ge: "ge",
    annotated_types.Gt: "gt",
    annotated_types.Le: "le",
    annotated_types.Lt: "lt",
}


def bound(field: Any, *kinds: type) -> float | None:
    """The field's constraint of one of `kinds` (Ge, Gt, Le, Lt), if it has one."""
    for meta in field.metadata:
        if isinstance(meta, kinds):
            return float(getattr(meta, ATTRIBUTE[type(meta)]))
    return None


def test_every_numeric_setting_has_a_lower_and_an_upper_bound() -> None:
    """A new setting without both bounds fails here, not in production."""
    fields = numeric_fields()
    assert {"lease_grace_s", "retention_days", "max_concurrent_evaluations"} <= set(fields)
    unbounded = [
        name
        for name, field in fields.items()
        if bound(field, annotated_types.Ge, annotated_types.Gt) is None
        or bound(field, annotated_types.Le, annotated_types.Lt) is None
    ]
    assert unbounded == []


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("QUORUM_LEASE_GRACE_S", "1e300", "less than or equal to 86400"),
        ("QUORUM_RETENTION_DAYS", "1000000", "less than or equal to 36500"),
        ("QUORUM_MAX_CONCURRENT_EVALUATIONS", str(10**12), "less than or equal to 10000"),
        ("QUORUM_MAX_QUEUED_EVALUATIONS", str(10**12), "less than or equal to 100000"),
        ("QUORUM_VOTE_CACHE_TTL_S", str(10**14), "less than or equal to 315360000"),
        ("QUORUM_RATE_LIMIT_PER_MIN", str(2**63), "less than or equal to 2147483647"),
        ("QUORUM_TIMEOUT_KEEP_ALIVE_S", str(10**400), "less than or equal to 3600"),
        ("QUORUM_STATS_MAX_ITEMS", str(10**20), "less than or equal to 1000000"),
        ("QUORUM_JURY_MAX_ITEMS", str(2**64), "less than or equal to 10000000"),
        ("QUORUM_MAX_BODY_BYTES", str(2**40), "less than or equal to 1073741824"),
        ("QUORUM_METRICS_MAX_APPS", str(10**9), "less than or equal to 10000"),
        ("QUORUM_DB_POOL_SIZE", "0", "greater than or equal to 1"),
        ("QUORUM_BODY_TIMEOUT_S", "nan", "finite number"),
        ("QUORUM_JURY_REFIT_S", "inf", "finite number"),
        ("QUORUM_HEADER_TIMEOUT_S", "0", "greater than or equal to 0.1"),
        ("QUORUM_SWEEP_INTERVAL_S", "1e-9", "greater than or equal to 0.1"),
        ("QUORUM_GAUGE_REFRESH_S", "-1", "greater than or equal to 0.1"),
        ("QUORUM_JUDGE_CHECK_INTERVAL_S", "0.001", "0 (no checks) or at least 1 second"),
        ("QUORUM_JUDGE_CHECK_INTERVAL_S", "1e9", "less than or equal to 86400"),
    ],
)
def test_a_setting_out_of_bounds_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, words: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsProblem) as problem:
        load_settings()
    said = str(problem.value)
    assert said.startswith(f"{name}: ") and words in said, said
    assert "\n" not in said


def test_the_server_command_refuses_it_at_start_up(tmp_path: Path) -> None:
    """As `quorum serve` and every other command read it: before any work."""
    run = quorum_cli("migrate", database=tmp_path / "q.db", env={"QUORUM_LEASE_GRACE_S": "1e300"})
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip() == (
        "quorum: settings error: QUORUM_LEASE_GRACE_S: Input should be less than or equal to 86400"
    )
    assert not (tmp_path / "q.db").exists()


def extreme(which: str) -> dict[str, float]:
    """Every numeric setting at its `which` ("low" or "high") bound, as it would be set."""
    values = {}
    for name, field in numeric_fields().items():
        low = bound(field, annotated_types.Ge, annotated_types.Gt)
        high = bound(field, annotated_types.Le, annotated_types.Lt)
        assert low is not None and high is not None
        value = high if which == "high" else low
        if which == "low" and bound(field, annotated_types.Gt) is not None:
            value = math.nextafter(value, math.inf)
        if which == "high" and bound(field, annotated_types.Lt) is not None:
            value = math.nextafter(value, -math.inf)
        is_int = field.annotation is int or int in get_args(field.annotation)
        values[name] = math.ceil(value) if is_int else value
    return values


@pytest.mark.parametrize("which", ["low", "high"])
def test_the_bounds_themselves_are_accepted(which: str) -> None:
    settings = Settings(**extreme(which))  # type: ignore[arg-type]
    for name, value in extreme(which).items():
        assert getattr(settings, name) == value


def test_the_largest_values_compute_without_overflow(tmp_path: Path) -> None:
    """The largest lease (the longest panel deadline plus the largest grace), retention
    cutoff and cache expiry are real datetimes; the largest admission limits compute a
    Retry-After."""
    from api.config import PanelConfig
    from api.errors import Overloaded
    from api.services.admission import Admission
    from api.services.audit import apply_retention
    from api.services.leases import Leases
    from api.store.engine import make_engine, make_session_factory
    from api.store.migrate import upgrade
    from api.store.tables import utcnow
    from api.store.vote_cache import DatabaseVoteCache
    from judges import ChatResult

    top = Settings(**extreme("high"))  # type: ignore[arg-type]
    database = f"sqlite:///{tmp_path / 'q.db'}"
    upgrade(database)

    async def run() -> None:
        engine = make_engine(database)
        sessions = make_session_factory(engine)
        try:
            panel = PanelConfig(name="p", rubric="helpfulness", judges=("a",), deadline_s=600)
            leases = Leases(sessions, top.lease_grace_s)
            assert leases.until(panel) > utcnow()
            leases.hold("e" * 32, leases.length_s(panel))
            assert await leases.renew() == 0  # no such row, but the lease was computed
            assert top.retention_days is not None
            assert await apply_retention(sessions, top.retention_days) == 0
            cache = DatabaseVoteCache(sessions, top.vote_cache_ttl_s)
            await cache.put("k", ChatResult(text="cached"))
            assert await cache.get("k") == ChatResult(text="cached")
        finally:
            await engine.dispose()

    asyncio.run(run())
    full = Admission(
        lambda: top.max_concurrent_evaluations + (top.max_queued_evaluations or 0),
        top.max_concurrent_evaluations,
        top.max_queued_evaluations,
    )
    with pytest.raises(Overloaded) as refused:
        full.admit()
    assert 1 <= refused.value.retry_after_s <= 60
