"""Calibration at its bounds. An alpha no human-reviewed set could certify is refused at
once (one line and exit 2 on the command line, a 422 naming `alpha` over HTTP), deltas
at the ends of (0, 1) are answered quickly or refused, never a traceback or a 500. And
the versions of a panel: calibrations stored at once each get a number of their own, on
SQLite and PostgreSQL, and migration 0018 renumbers the twins stored before it."""

from __future__ import annotations

import asyncio
import logging
import math
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from scipy.stats import binom

from routing import calibration_floor as floor
from routing.calibration import calibrate
from routing.calibration_floor import min_certifiable_items, min_robust_items, reviews_to_certify
from tests.doubles.judge_server import JudgeDouble
from tests.support import ServerThread, quorum_cli, route_to_humans, write_config

# --- The bounds, in routing -----------------------------------------------------------------


@pytest.mark.parametrize("alpha", [1e-20, 1e-300, 5e-324, 2e-9])
def test_an_alpha_no_data_could_certify_is_refused_at_once(alpha: float) -> None:
    start = time.perf_counter()
    # 1e-20 needs 2.3e20 items at delta 0.1: the old walk counted towards it and crashed.
    with pytest.raises(ValueError, match=r"cannot be certified at delta 0\.1: it needs"):
        min_certifiable_items(alpha, 0.1)
    with pytest.raises(ValueError, match="cannot be certified"):
        reviews_to_certify(8, 0, alpha=alpha, delta=0.1)
    with pytest.raises(ValueError, match="cannot be certified"):
        calibrate([0.9, 0.8], [1, 1], alpha=alpha, delta=0.1)
    assert time.perf_counter() - start < 1


def test_the_smallest_alpha_named_is_accepted() -> None:
    for delta in (0.1, 0.05, 1e-300, 0.5):
        alpha = floor.smallest_alpha(delta)
        floor.check_certifiable(alpha, delta)
        assert min_certifiable_items(alpha, delta) <= floor.MAX_ITEMS
        with pytest.raises(ValueError, match=f"use alpha >= {alpha:g}"):
            floor.check_certifiable(alpha * 0.99, delta)
    # Below 1 / MAX_ITEMS one disagreement alone would outweigh a billion items.
    with pytest.raises(ValueError, match="each disagreement"):
        floor.check_certifiable(5e-10, 0.9)


@pytest.mark.parametrize("delta", [1e-300, 5e-324, 1 - 1e-16])
def test_extreme_deltas_are_answered_quickly(delta: float) -> None:
    start = time.perf_counter()
    for alpha in (0.5, 0.1, floor.smallest_alpha(delta)):  # the last: the smallest let through
        n = min_certifiable_items(alpha, delta)
        # The definition, with the function the walk computes p-values with.
        assert binom.cdf(0, n, alpha) <= delta
        assert n == 1 or binom.cdf(0, n - 1, alpha) > delta
        assert min_robust_items(alpha, delta) >= n
        assert reviews_to_certify(10, 3, alpha=alpha, delta=delta) >= 0
    # At 5e-324 the old walk, one item at a time through p-values with a digit or two
    # left, took over a minute.
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize(
    ("alpha", "delta", "name"),
    [(0.0, 0.1, "alpha"), (1.0, 0.1, "alpha"), (math.nan, 0.1, "alpha"), (-math.inf, 0.1, "alpha"),
     (0.1, 0.0, "delta"), (0.1, 1.0, "delta"), (0.1, math.nan, "delta"), (0.1, math.inf, "delta")],
)  # fmt: skip
def test_alpha_and_delta_outside_0_1_are_refused(alpha: float, delta: float, name: str) -> None:
    with pytest.raises(ValueError, match=f"{name} must be strictly between 0 and 1"):
        floor.check_certifiable(alpha, delta)


# --- The command line and HTTP --------------------------------------------------------------


@pytest.fixture(scope="module")
def reviewed(quorum: ServerThread) -> Iterator[httpx.Client]:
    """The shared server with two human-reviewed evaluations of the split panel."""
    with httpx.Client(base_url=quorum.url, timeout=30) as http:
        route_to_humans(http, "split", 2)
        for _ in range(2):
            item = http.post("/v1/reviews/claim", json={"reviewer": "b", "panel": "split"})
            verdict = {"reviewer": "b", "value": 1}
            assert http.post(f"/v1/reviews/{item.json()['id']}/verdict", json=verdict).is_success
        yield http


def calibrate_cli(quorum: ServerThread, *args: str) -> Any:
    assert quorum.database is not None
    config = quorum.database.parent / "quorum.yaml"
    return quorum_cli("calibrate", "split", *args, "--config", config, database=quorum.database)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ("--alpha", "1e-20"),
            "quorum: alpha 1e-20 cannot be certified at delta 0.1: it needs at least 2.3e+20 "
            "human-reviewed items, more than the 1e+09 a calibration can use; "
            "use alpha >= 2.31e-09",
        ),
        (("--alpha", "nan"), "quorum: alpha must be strictly between 0 and 1; got nan"),
        (("--delta", "0"), "quorum: delta must be strictly between 0 and 1; got 0.0"),
    ],
)
def test_cli_refuses_in_one_line(
    reviewed: httpx.Client, quorum: ServerThread, args: tuple[str, ...], line: str
) -> None:
    proc = calibrate_cli(quorum, *args, "--apply")
    assert proc.returncode == 2, proc.stderr
    said = [x for x in proc.stderr.splitlines() if not x.startswith("WARNING quorum.config:")]
    assert said == [line]  # (the test panels' config warns of some panels' settings)
    assert proc.stdout == ""


def test_cli_answers_a_tiny_delta(reviewed: httpx.Client, quorum: ServerThread) -> None:
    proc = calibrate_cli(quorum, "--alpha", "0.2", "--delta", "1e-300")
    assert proc.returncode == 0, proc.stderr
    assert "threshold none certified" in proc.stdout
    assert "at alpha 0.2 and delta 1e-300 certification needs at least" in proc.stdout


def test_http_refuses_with_a_problem_naming_alpha(reviewed: httpx.Client) -> None:
    http = reviewed
    r = http.post("/v1/panels/split/calibration", json={"alpha": 1e-20, "apply": True})
    assert r.status_code == 422, r.text  # was a 500
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert problem["type"].endswith("/invalid-input") and problem["status"] == 422
    assert problem["detail"].startswith("alpha 1e-20 cannot be certified at delta 0.1")
    assert [e["location"] for e in problem["errors"]] == ["body.alpha"]
    # JSON's NaN and Infinity (Python's parser takes them) and 1e999 (inf) do not pass.
    for body in ('{"alpha": NaN}', '{"alpha": 1e999}', '{"alpha": 0.1, "delta": Infinity}'):
        r = http.post(
            "/v1/panels/split/calibration",
            content=body,
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 422, (body, r.text)
    for delta in (0, 1, -1e-300):
        r = http.post("/v1/panels/split/calibration", json={"alpha": 0.1, "delta": delta})
        assert r.status_code == 422, (delta, r.text)
    tiny = http.post("/v1/panels/split/calibration", json={"alpha": 0.2, "delta": 5e-324})
    assert tiny.status_code == 200, tiny.text
    assert not tiny.json()["certified"] and tiny.json()["reviews_needed"] > 0
    assert http.get("/v1/panels/split/calibration").status_code == 200


def test_a_calibration_stored_before_the_bound_still_shows(
    tmp_path: Path, double: JudgeDouble
) -> None:
    """An uncertified calibration at alpha 1e-12, which the old walk could still store:
    its history shows it (how many reviews it needs: unknown), not a 500."""
    from api.config import load_config
    from api.services.calibration import CalibrationService, public
    from api.store.engine import make_engine, make_session_factory
    from api.store.migrate import upgrade

    db = tmp_path / "q.db"
    upgrade(f"sqlite:///{db}")
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO calibrations (id, panel, version, alpha, delta, threshold, certified,"
            " coverage, n_items, n_audit, evaluation_ids, curve, applied, created_at) VALUES"
            " ('old', 'split', 1, 1e-12, 0.1, NULL, 0, 0.0, 2, 0, '[]', '[]', 0,"
            " '2026-12-01 00:00:00')"
        )
    config = load_config(write_config(tmp_path / "q.yaml", double))

    async def shown() -> list[int | None]:
        engine = make_engine(f"sqlite:///{db}")
        try:
            service = CalibrationService(config, make_session_factory(engine))
            return [public(r).reviews_needed for r in await service.history("split")]
        finally:
            await engine.dispose()

    assert asyncio.run(shown()) == [None]


# --- Versions -------------------------------------------------------------------------------

WRITERS = 4


async def _seed(url: str, n: int) -> None:
    """n human-reviewed evaluations of the split panel, the human agreeing with it."""
    from api.store.engine import make_engine, make_session_factory
    from api.store.tables import EvaluationRow, ReviewItemRow

    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            for _ in range(n):
                ev = EvaluationRow(
                    id=uuid.uuid4().hex,
                    kind="evaluation",
                    panel="split",
                    rubric_id="helpfulness",
                    rubric_version=1,
                    status="decided",
                    input={"prompt": "p", "response": "r"},
                    request_sha256="0" * 64,
                    audit_draw=0.5,
                    verdict_value=1,
                    verdict_source="human",
                    confidence=0.9,
                    outcome={"panel_value": 1},
                )
                session.add(ev)
                await session.flush()
                session.add(
                    ReviewItemRow(
                        id=uuid.uuid4().hex,
                        evaluation_id=ev.id,
                        panel="split",
                        status="decided",
                        uncertainty=0.1,
                        reasons=["audit_sample"],
                    )
                )
            await session.commit()
    finally:
        await engine.dispose()


async def _calibrate_at_once(url: str, config_path: Path) -> list[int]:
    """WRITERS replicas (engines) each store a calibration of the split panel at once,
    half applied runs, half resets; the versions stored, after `verify` finds nothing."""
    from api.config import load_config
    from api.services.audit_verify import verify
    from api.services.calibration import CalibrationService
    from api.store.engine import make_engine, make_session_factory

    config = load_config(config_path)
    engines = [make_engine(url) for _ in range(WRITERS)]
    try:
        services = [CalibrationService(config, make_session_factory(e)) for e in engines]
        await asyncio.gather(
            *(s.run("split", 0.2, 0.1, True) if i % 2 else s.reset("split") for i, s in
              enumerate(services))
        )  # fmt: skip
        report = await verify(make_session_factory(engines[0]))
        assert report.ok, [str(f) for f in report.findings]
        return sorted(r.version for r in await services[0].history("split"))
    finally:
        for engine in engines:
            await engine.dispose()


def _concurrent_versions(url: str, tmp_path: Path, double: JudgeDouble) -> list[int]:
    from api.store.migrate import upgrade

    upgrade(url)
    asyncio.run(_seed(url, 20))
    return asyncio.run(_calibrate_at_once(url, write_config(tmp_path / "q.yaml", double)))


def test_calibrations_stored_at_once_get_a_version_each_on_sqlite(
    tmp_path: Path, double: JudgeDouble
) -> None:
    versions = _concurrent_versions(f"sqlite:///{tmp_path / 'q.db'}", tmp_path, double)
    assert versions == list(range(1, WRITERS + 1))


@pytest.mark.postgres
def test_calibrations_stored_at_once_get_a_version_each_on_postgres(
    postgres_url: str, tmp_path: Path, double: JudgeDouble
) -> None:
    versions = _concurrent_versions(postgres_url, tmp_path, double)
    assert versions == list(range(1, WRITERS + 1))


def test_a_writer_that_took_no_lock_is_a_conflict_not_a_twin(
    tmp_path: Path, double: JudgeDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replica from before the lock (a rolling upgrade) read the version before another
    stored it: the unique index refuses its row, and the service says so."""
    from api.config import load_config
    from api.errors import Conflict
    from api.services.calibration import CalibrationService
    from api.store.calibrations import CalibrationRepository
    from api.store.engine import make_engine, make_session_factory
    from api.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'q.db'}"
    upgrade(url)
    config = load_config(write_config(tmp_path / "q.yaml", double))
    read = CalibrationRepository.latest_version

    async def stale(self: CalibrationRepository, panel: str) -> int:
        return await read(self, panel) - 1  # what it read before the other's commit

    async def run() -> list[int]:
        engine = make_engine(url)
        try:
            service = CalibrationService(config, make_session_factory(engine))
            await service.reset("split")
            with monkeypatch.context() as m:
                m.setattr(CalibrationRepository, "latest_version", stale)
                with pytest.raises(Conflict, match="v1 of panel 'split' was stored by another"):
                    await service.reset("split")
            await service.reset("split")  # run again: the next version
            return [r.version for r in await service.history("split")]
        finally:
            await engine.dispose()

    assert asyncio.run(run()) == [2, 1]


# --- Migration 0018 -------------------------------------------------------------------------

OLD_ROW = (
    "INSERT INTO calibrations (id, panel, version, alpha, delta, threshold, certified,"
    " coverage, n_items, n_audit, evaluation_ids, curve, applied, created_at)"
    " VALUES ({p}, {p}, {p}, 0.1, 0.1, 0.5, {true}, 1.0, 40, 0, '[]', '[]', {true}, {p})"
)
TWINS = [  # (id, panel, version, created_at): v2 of panel a stored twice, by a race
    ("a1", "a", 1, "2026-12-01 00:00:00"),
    ("a2", "a", 2, "2026-12-02 00:00:00"),
    ("a2-twin", "a", 2, "2026-12-02 00:00:01"),
    ("a3", "a", 3, "2026-12-03 00:00:00"),
    ("b1", "b", 1, "2026-12-01 00:00:00"),
]
RENUMBERED = [("a1", 1), ("a2", 2), ("a2-twin", 3), ("a3", 4), ("b1", 1)]


def test_migration_renumbers_twins_and_refuses_new_ones_on_sqlite(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from api.store.migrate import upgrade

    db = tmp_path / "q.db"
    upgrade(f"sqlite:///{db}", "0017")
    insert = OLD_ROW.format(p="?", true="1")
    with sqlite3.connect(db) as conn:
        conn.executemany(insert, [(i, p, v, t) for i, p, v, t in TWINS])
    with caplog.at_level(logging.WARNING):
        upgrade(f"sqlite:///{db}")
    warned = [r.getMessage() for r in caplog.records if "renumbered" in r.getMessage()]
    assert len(warned) == 2, warned  # a2-twin and a3 moved
    assert "calibration a2-twin of panel a: version 2 was stored twice; renumbered 3" in warned[0]
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, version FROM calibrations ORDER BY panel, version")
        assert rows.fetchall() == RENUMBERED
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            conn.execute(insert, ("b1-twin", "b", 1, "2026-12-05 00:00:00"))


@pytest.mark.postgres
def test_migration_renumbers_twins_and_refuses_new_ones_on_postgres(postgres_url: str) -> None:
    import psycopg

    from api.store.migrate import upgrade
    from tests.support import plain

    upgrade(postgres_url, "0017")
    insert = OLD_ROW.format(p="%s", true="true")
    with psycopg.connect(plain(postgres_url)) as conn:
        conn.cursor().executemany(insert, TWINS)
    upgrade(postgres_url)
    with psycopg.connect(plain(postgres_url)) as conn:
        rows = conn.execute("SELECT id, version FROM calibrations ORDER BY panel, version")
        assert rows.fetchall() == RENUMBERED
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(insert, ("b1-twin", "b", 1, "2026-12-05 00:00:00"))
