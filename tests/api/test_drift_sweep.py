"""The drift sweep over a real database (SQLite, and PostgreSQL where it runs): verdicts
are read once in the order they became final, whoever sweeps (two replicas at once count
each verdict once), the state survives a new process, and an alarm is stored with its
figures."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from api.config import QuorumConfig
from api.governance_config import GovernanceConfig
from api.services.drift import DriftSweep
from api.store import make_engine, make_session_factory
from api.store.drift import DriftRepository
from api.store.engine import sync_url
from api.store.migrate import upgrade
from api.store.tables import EvaluationRow, utcnow
from routing.governance import CusumState, baseline_p0, design, run_length

BASELINE = 20


def config() -> QuorumConfig:
    governance = GovernanceConfig(
        settle_s=0, baseline_items=BASELINE, shift=3.0, false_alarm_rate=0.001
    )
    return QuorumConfig(path="q.yaml", judges={}, panels={}, rubrics={}, governance=governance)


def row(model: str, compliant: bool, i: int, tenant: str | None = "acme") -> EvaluationRow:
    at = utcnow() - timedelta(minutes=10) + timedelta(seconds=i)
    return EvaluationRow(
        id=uuid.uuid4().hex,
        kind="evaluation",
        panel="leak-check",
        rubric_id="data-leakage",
        rubric_version=1,
        status="decided",
        input={"prompt": "p", "response": "r"},
        request_sha256="0" * 64,
        verdict_value="pass" if compliant else "fail",
        verdict_compliant=compliant,
        verdict_source="panel",
        audit_draw=0.5,
        tenant=tenant,
        subject_model=model,
        use_case="support-bot",
        created_at=at,
        updated_at=at,
        completed_at=at,
    )


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    upgrade(url)
    return url


def test_two_replicas_sweeping_at_once_count_every_verdict_once(database: str) -> None:
    check_two_replicas(database)


@pytest.mark.postgres
def test_two_replicas_sweeping_at_once_on_postgres(postgres_url: str) -> None:
    """Several replicas are what PostgreSQL is for: the cursor's lock is its row lock."""
    upgrade(postgres_url)
    check_two_replicas(postgres_url)


def check_two_replicas(database: str) -> None:
    async def run() -> None:
        engine = make_engine(database)
        sessions = make_session_factory(engine)
        stream = [True] * BASELINE + [True] * 10 + [False] * 12
        async with sessions() as session:
            for i, ok in enumerate(stream):
                session.add(row("m-a", ok, i))
            session.add(row("m-a", True, 0, tenant="globex"))  # another tenant's stream
            await session.commit()
        first, second = DriftSweep(config(), sessions), DriftSweep(config(), sessions)
        raised = await asyncio.gather(first.sweep(), second.sweep(), first.sweep())
        events = [e for batch in raised for e in batch]
        async with sessions() as session:
            repo = DriftRepository(session)
            monitors = await repo.all_monitors()
            stored = await repo.events("acme", "m-a")
        by_scope = {m.scope: CusumState.model_validate(m.state) for m in monitors}
        assert by_scope["acme"].items == len(stream) and by_scope["globex"].items == 1
        # designed on the baseline (all compliant) as the statistics say; every leak counts
        chart = by_scope["acme"].chart
        spec = config().governance.cusum
        assert chart is not None and chart.p0 == baseline_p0(spec, 0, BASELINE)
        assert chart == design(chart.p0, 3.0, 0.001)
        per_alarm = run_length(chart, 1.0).median  # leaks per alarm on an all-leak stream
        assert len(stored) == len(events) == 12 // per_alarm
        first_alarm = min(stored, key=lambda e: e.n_items)
        assert first_alarm.n_items == BASELINE + 10 + per_alarm
        assert first_alarm.scope == "acme" and first_alarm.use_case == "support-bot"
        assert first_alarm.statistic >= first_alarm.threshold == pytest.approx(chart.h_items)
        # nothing new: a later sweep (another process) reads nothing again
        assert await DriftSweep(config(), make_session_factory(engine)).sweep() == []
        await engine.dispose()

    asyncio.run(run())


def test_a_verdict_that_commits_after_a_later_one_was_read_is_still_counted(
    database: str,
) -> None:
    """A verdict is stamped before its transaction commits: under load one stamped earlier
    commits after a later-stamped one was read. It is counted all the same, and once."""

    async def run() -> None:
        engine = make_engine(database)
        sessions = make_session_factory(engine)
        late = row("m-a", True, 0)  # stamped first, committed last
        async with sessions() as session:
            for i in range(1, 6):
                session.add(row("m-a", True, i))
            await session.commit()
        sweep = DriftSweep(config(), sessions)
        await sweep.sweep()
        async with sessions() as session:
            session.add(late)
            await session.commit()
        await sweep.sweep()
        await sweep.sweep()
        async with sessions() as session:
            (monitor,) = await DriftRepository(session).all_monitors()
        assert CusumState.model_validate(monitor.state).items == 6
        await engine.dispose()

    asyncio.run(run())


def test_the_migration_marks_what_the_cursor_had_read(tmp_path: Path) -> None:
    check_migration(f"sqlite:///{tmp_path / 'q.db'}")


@pytest.mark.postgres
def test_the_migration_marks_what_the_cursor_had_read_on_postgres(postgres_url: str) -> None:
    check_migration(postgres_url)


def check_migration(database: str) -> None:
    """Verdicts at or before the old cursor were read (they are marked); the sweep reads
    those after it next."""
    upgrade(database, "0016")
    engine = sa.create_engine(sync_url(database))
    base = utcnow() - timedelta(minutes=10)
    with engine.begin() as conn:
        for i, name in enumerate(["a", "b", "c", "d"]):
            conn.execute(
                sa.text(
                    "INSERT INTO evaluations (id, kind, panel, rubric_id, rubric_version,"
                    " status, input, request_sha256, audit_draw, runs, idempotency_tenant,"
                    " subject_model, use_case, verdict_compliant, created_at, updated_at)"
                    " VALUES (:id, 'evaluation', 'leak-check', 'data-leakage', 1, 'decided',"
                    " '{}', 'x', 0.5, 1, '', 'm-a', 'support-bot', :ok, :at, :at)"
                ),
                {"id": name * 32, "ok": True, "at": base + timedelta(seconds=i)},
            )
        conn.execute(  # the old sweep had read a and b
            sa.text(
                "INSERT INTO governance_cursor (name, updated_at, evaluation_id)"
                " VALUES ('drift', :at, :id)"
            ),
            {"at": base + timedelta(seconds=1), "id": "b" * 32},
        )
    upgrade(database)
    with engine.connect() as conn:
        read = conn.execute(sa.text("SELECT id, drift_read FROM evaluations ORDER BY id"))
        assert [bool(r[1]) for r in read] == [True, True, False, False]
    engine.dispose()

    async def sweep() -> int:
        async_engine = make_engine(database)
        await DriftSweep(config(), make_session_factory(async_engine)).sweep()
        async with make_session_factory(async_engine)() as session:
            (monitor,) = await DriftRepository(session).all_monitors()
        await async_engine.dispose()
        return CusumState.model_validate(monitor.state).items

    assert asyncio.run(sweep()) == 2


def test_every_alarm_of_a_sweep_reaches_the_observer(database: str) -> None:
    """The chart restarts at an alarm, so one sweep can alarm a stream several times; the
    observer (the metrics) was told only whether it alarmed, and the events counter said 1
    where /v1/drift listed several."""
    seen: list[tuple[str, int]] = []

    async def run() -> list[object]:
        engine = make_engine(database)
        sessions = make_session_factory(engine)
        stream = [True] * BASELINE + [False] * 40  # leaking throughout, after the baseline
        async with sessions() as session:
            for i, ok in enumerate(stream):
                session.add(row("m-a", ok, i))
            await session.commit()
        sweep = DriftSweep(config(), sessions, lambda r, state, n: seen.append((r.model, n)))
        events = await sweep.sweep()
        await engine.dispose()
        return list(events)

    events = asyncio.run(run())
    assert len(events) >= 2  # the premise: several alarms of one stream in one sweep
    assert seen == [("m-a", len(events))]
