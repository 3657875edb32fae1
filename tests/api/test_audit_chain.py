"""The audit chain under concurrent writers: several replicas (engines) appending at once
on PostgreSQL, and many tasks of one process on SQLite, never fork or skip the chain."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from api.services.audit_verify import verify
from api.store.audit_log import Actor, AuditLog
from api.store.engine import make_engine, make_session_factory
from api.store.migrate import upgrade
from api.store.tables import AuditEventRow
from tests.doubles.judge_server import JudgeDouble

REPLICAS = 3
WRITERS = 4
EVENTS = 10


async def _verified_seqs(engine: AsyncEngine) -> list[int]:
    """Check the whole chain (`verify` finds nothing), then its sequence numbers in order."""
    sessions = make_session_factory(engine)
    report = await verify(sessions)
    assert report.ok, [str(f) for f in report.findings]
    async with sessions() as session:
        rows = await session.exec(select(AuditEventRow.seq).order_by(col(AuditEventRow.seq)))
        return list(rows.all())


async def _append_concurrently(url: str) -> list[int]:
    """REPLICAS engines x WRITERS tasks, each appending EVENTS events in transactions of
    one or two events; returns the stored sequence numbers in order."""
    engines = [make_engine(url, pool_size=WRITERS) for _ in range(REPLICAS)]
    try:

        async def writer(replica: int, n: int) -> None:
            sessions = make_session_factory(engines[replica])
            for i in range(EVENTS):
                async with sessions() as session:
                    log = AuditLog(session)
                    actor = Actor(None, f"replica-{replica}")
                    await log.append("test", actor, "export", uuid.uuid4().hex)
                    if i % 2:  # a second event in the same transaction
                        await log.append("test", actor, "export", uuid.uuid4().hex)
                    await asyncio.sleep(0)  # let the others try to interleave
                    await session.commit()

        await asyncio.gather(*(writer(r, n) for r in range(REPLICAS) for n in range(WRITERS)))
        return await _verified_seqs(engines[0])
    finally:
        for engine in engines:
            await engine.dispose()


EXPECTED = REPLICAS * WRITERS * (EVENTS + EVENTS // 2)


@pytest.mark.postgres
def test_replicas_appending_at_once_keep_one_chain_on_postgres(postgres_url: str) -> None:
    upgrade(postgres_url)
    seqs = asyncio.run(_append_concurrently(postgres_url))
    assert seqs == list(range(1, EXPECTED + 1))


def test_tasks_appending_at_once_keep_one_chain_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    upgrade(url)
    seqs = asyncio.run(_append_concurrently(url))
    assert seqs == list(range(1, EXPECTED + 1))


@pytest.mark.postgres
def test_verify_on_postgres_names_a_tampered_decision(
    postgres_url: str, tmp_path: Path, double: JudgeDouble
) -> None:
    """Records hashed in memory match what PostgreSQL gives back; a SQL UPDATE is named."""
    import httpx
    import psycopg

    from api.app import create_app
    from api.settings import Settings
    from tests.conftest import ServerThread, write_config

    settings = Settings(database_url=postgres_url, config=write_config(tmp_path / "q.yaml", double))
    with (
        ServerThread(create_app(settings)) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        body = {"panel": "split", "input": {"prompt": "p", "response": "r"}}
        http.post("/v1/evaluations", json={**body, "panel": "jury"})
        http.post("/v1/evaluations", json=body)
        item = http.post("/v1/reviews/claim", json={"reviewer": "ann", "panel": "split"}).json()
        http.post(f"/v1/reviews/{item['id']}/verdict", json={"reviewer": "ann", "value": 4})

    async def check() -> list[str]:
        engine = make_engine(postgres_url)
        try:
            return [str(f) for f in (await verify(make_session_factory(engine))).findings]
        finally:
            await engine.dispose()

    assert asyncio.run(check()) == []
    with psycopg.connect(postgres_url.replace("+psycopg", "")) as conn:
        conn.execute(
            "UPDATE review_decisions SET value = '1' WHERE review_item_id = %s", (item["id"],)
        )
    [finding] = asyncio.run(check())
    assert finding.startswith(f"record-changed: review {item['id']}: ")


async def _evaluations_concurrently(url: str) -> list[int]:
    """REPLICAS engines on one SQLite file x WRITERS tasks, each storing evaluations the
    way the service does (insert + `submitted`, then conclude + `judged`), interleaved with
    plain appends and with a transaction rolled back after its append; returns the stored
    sequence numbers."""
    from api.services import trail
    from api.store.evaluations import EvaluationRepository
    from api.store.tables import EvaluationRow

    engines = [make_engine(url) for _ in range(REPLICAS)]
    try:

        async def writer(replica: int) -> None:
            sessions = make_session_factory(engines[replica])
            actor = Actor(None, f"replica-{replica}")
            for i in range(EVENTS):
                row = EvaluationRow(
                    id=uuid.uuid4().hex,
                    kind="evaluation",
                    panel="points",
                    rubric_id="helpfulness",
                    rubric_version=1,
                    status="pending",
                    input={},
                    request_sha256="0" * 64,
                    audit_draw=0.5,
                )
                async with sessions() as session:
                    await EvaluationRepository(session).insert(row)
                    await trail.submitted(session, actor, row)
                    await asyncio.sleep(0)
                    await session.commit()
                async with sessions() as session:  # rolled back: its event is not kept
                    await AuditLog(session).append("test", actor, "export", uuid.uuid4().hex)
                    await session.rollback()
                    await AuditLog(session).append("test", actor, "export", uuid.uuid4().hex)
                    await session.commit()
                async with sessions() as session:
                    repo = EvaluationRepository(session)
                    assert await repo.conclude(row.id, {"status": "decided"})
                    row.status = "decided"
                    await trail.judged(session, row, [], None)
                    if i % 2:  # a second event in the same transaction
                        await AuditLog(session).append("test", actor, "export", row.id)
                    await session.commit()
                async with sessions() as session:  # no longer pending: nothing concluded
                    assert not await EvaluationRepository(session).conclude(
                        row.id, {"status": "failed"}
                    )

        await asyncio.gather(*(writer(r) for r in range(REPLICAS) for _ in range(WRITERS)))
        return await _verified_seqs(engines[0])
    finally:
        for engine in engines:
            await engine.dispose()


def test_evaluations_of_replicas_keep_one_chain_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    upgrade(url)
    seqs = asyncio.run(_evaluations_concurrently(url))
    assert seqs == list(range(1, REPLICAS * WRITERS * (3 * EVENTS + EVENTS // 2) + 1))
