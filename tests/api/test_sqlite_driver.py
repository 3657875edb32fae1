"""The SQLite connection of `make_engine` (api/store/sqlite_driver.py): one trip to
aiosqlite's thread per statement, and what SQLAlchemy reads back from a cursor (rows,
rowcount, lastrowid, errors) is what aiosqlite's own cursor gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from api.store import make_engine

META = MetaData()
ITEMS = Table(
    "items",
    META,
    Column("id", Integer, primary_key=True),
    Column("name", String, unique=True, nullable=False),
)


@pytest.fixture
async def engine(tmp_path: Path) -> Any:
    engine = make_engine(f"sqlite:///{tmp_path / 'q.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(META.create_all)
    yield engine
    await engine.dispose()


async def trips_of(engine: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, the name of each function sent to aiosqlite's thread (`<lambda>`: a
    statement; `commit`, `rollback`), once `engine`'s pooled connection exists."""
    calls: list[str] = []
    real = aiosqlite.Connection._execute

    async def named(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(fn, "__name__", "statement"))
        return await real(self, fn, *args, **kwargs)

    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    monkeypatch.setattr(aiosqlite.Connection, "_execute", named)
    return calls


async def test_a_statement_is_one_trip_to_the_thread(
    engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = await trips_of(engine, monkeypatch)
    async with engine.connect() as conn:
        before = len(calls)
        await conn.execute(insert(ITEMS).values(name="a"))
        assert len(calls) - before == 1  # aiosqlite's cursor: cursor, execute, close
        before = len(calls)
        rows = (await conn.execute(select(ITEMS.c.name))).all()
        assert len(calls) - before == 1  # cursor, execute, fetchall, close
        assert rows == [("a",)]
        before = len(calls)
        await conn.commit()
        assert len(calls) - before == 1


async def test_rows_rowcount_and_lastrowid_as_sqlalchemy_reads_them(engine: Any) -> None:
    async with engine.begin() as conn:
        first = await conn.execute(insert(ITEMS).values(name="a"))
        assert first.inserted_primary_key == (1,)  # lastrowid
        many = await conn.execute(insert(ITEMS), [{"name": n} for n in "bcde"])
        assert many.rowcount == 4  # executemany
        changed = await conn.execute(
            update(ITEMS).where(ITEMS.c.name.in_(["b", "c"])).values(name=ITEMS.c.name + "!")
        )
        assert changed.rowcount == 2
        returned = await conn.execute(
            insert(ITEMS).values(name="f").returning(ITEMS.c.id, ITEMS.c.name)
        )
        assert returned.one() == (6, "f")
    async with engine.connect() as conn:
        result = await conn.execute(select(ITEMS.c.name).order_by(ITEMS.c.id))
        assert result.fetchone() == ("a",)
        assert result.fetchmany(2) == [("b!",), ("c!",)]
        assert result.fetchall() == [("d",), ("e",), ("f",)]
        assert (await conn.execute(select(ITEMS).where(ITEMS.c.id == 99))).first() is None


async def test_errors_are_sqlalchemys_and_the_transaction_rolls_back(engine: Any) -> None:
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(ITEMS).values(name="x"))
            await conn.execute(insert(ITEMS).values(name="x"))  # unique
    async with engine.connect() as conn:
        assert (await conn.execute(select(ITEMS))).all() == []  # the first insert too
        with pytest.raises(OperationalError, match="no such table"):
            await conn.execute(text("SELECT * FROM missing"))


async def test_the_connection_keeps_the_engines_pragmas(engine: Any) -> None:
    async with engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 10000


async def test_a_streamed_result_reads_the_rows_one_part_at_a_time(engine: Any) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(ITEMS), [{"name": n} for n in "abcde"])
    async with engine.connect() as conn:  # the adapter's server-side cursor: fetchone, fetchmany
        result = await conn.stream(select(ITEMS.c.name).order_by(ITEMS.c.id))
        assert await result.fetchone() == ("a",)
        assert await result.fetchmany(3) == [("b",), ("c",), ("d",)]
        assert await result.fetchmany(3) == [("e",)]
        assert await result.fetchone() is None


async def test_a_committed_session_returns_its_connection_without_a_rollback(
    engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = await trips_of(engine, monkeypatch)
    async with engine.begin() as conn:  # commits, then goes back to the pool
        await conn.execute(insert(ITEMS).values(name="a"))
    async with engine.connect() as conn:  # read only: no transaction at the driver
        await conn.execute(select(ITEMS))
    assert calls.count("rollback") == 0
    assert calls.count("commit") == 1


async def test_a_connection_returned_in_a_write_is_rolled_back(engine: Any) -> None:
    """The safety net the pool's rollback-on-return gave: a write the driver still holds
    (begun behind SQLAlchemy's back) does not leak into the next checkout."""
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        await raw.execute("INSERT INTO items (name) VALUES ('leaked')")
        assert raw.in_transaction
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert not raw.in_transaction
        assert (await conn.execute(select(ITEMS))).all() == []


async def test_the_read_engine_sees_commits_and_refuses_writes(tmp_path: Path) -> None:
    from api.store.engine import make_read_engine

    url = f"sqlite:///{tmp_path / 'r.db'}"
    writer = make_engine(url)
    reader = make_read_engine(url)
    assert reader is not None
    try:
        async with writer.begin() as conn:
            await conn.run_sync(META.create_all)
        async with writer.connect() as held:  # a write in progress, not committed
            await held.execute(insert(ITEMS).values(name="pending"))
            async with reader.connect() as conn:  # not blocked by it, nor seeing it
                assert (await conn.execute(select(ITEMS.c.name))).all() == []
            await held.commit()
        async with reader.connect() as conn:
            assert (await conn.execute(select(ITEMS.c.name))).all() == [("pending",)]
            with pytest.raises(OperationalError, match="readonly"):
                await conn.execute(insert(ITEMS).values(name="x"))
    finally:
        await reader.dispose()
        await writer.dispose()


def test_no_read_engine_where_the_main_one_serves_reads() -> None:
    from api.store.engine import make_read_engine

    assert make_read_engine("sqlite://") is None  # in memory: another connection, another db
    assert make_read_engine("sqlite:///:memory:") is None
    assert make_read_engine("postgresql+psycopg://u@127.0.0.1:1/x") is None


async def test_inline_writes_make_no_trip_but_the_commit(
    engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.store import inline_writes

    calls = await trips_of(engine, monkeypatch)
    with inline_writes():
        async with engine.connect() as conn:
            await conn.execute(select(ITEMS))  # no write yet: a read, through the thread
            await conn.execute(insert(ITEMS).values(name="a"))  # the lock is free: inline
            assert calls == ["<lambda>"]
            await conn.execute(insert(ITEMS), [{"name": n} for n in "bc"])  # inline
            rows = (await conn.execute(select(ITEMS.c.name).order_by(ITEMS.c.id))).all()
            assert rows == [("a",), ("b",), ("c",)]  # inline, and it sees its own writes
            changed = await conn.execute(update(ITEMS).values(name=ITEMS.c.name + "!"))
            assert changed.rowcount == 3
            assert len(calls) == 1
            await conn.commit()  # the commit goes through the thread (it may checkpoint)
            assert calls[1:] == ["commit"]
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 10000
    async with engine.connect() as conn:  # outside the block: every statement a trip
        before = len(calls)
        assert (await conn.execute(select(ITEMS.c.name))).all() == [("a!",), ("b!",), ("c!",)]
        assert len(calls) == before + 1


async def test_an_inline_error_is_sqlalchemys_and_rolls_the_transaction_back(
    engine: Any,
) -> None:
    from api.store import inline_writes

    with inline_writes(), pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(ITEMS).values(name="x"))
            await conn.execute(insert(ITEMS).values(name="x"))  # inline, unique
    async with engine.connect() as conn:
        assert (await conn.execute(select(ITEMS))).all() == []


async def test_inline_writes_end_with_the_block(engine: Any) -> None:
    import asyncio

    from api.store import inline_writes
    from api.store.sqlite_driver import _INLINE

    with inline_writes():
        inside = asyncio.create_task(asyncio.sleep(0, result=_INLINE.get()))
    after = asyncio.create_task(asyncio.sleep(0, result=_INLINE.get()))
    assert (await inside, await after, _INLINE.get()) == (True, False, False)


async def test_an_inline_first_write_waits_for_a_held_lock_off_the_event_loop(
    engine: Any, tmp_path: Path
) -> None:
    """Another process holds SQLite's write lock: the first write of an inline transaction
    waits for it on aiosqlite's thread, with the busy timeout, while the event loop runs
    on (here it releases the lock itself; a loop stalled in SQLite's busy handler could
    not, and the write would fail after 10 s)."""
    import asyncio
    import sqlite3

    from api.store import inline_writes

    holder = sqlite3.connect(tmp_path / "q.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, as another process would hold it
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    asyncio.get_running_loop().call_later(0.3, holder.execute, "COMMIT")
    started = asyncio.get_running_loop().time()
    with inline_writes():
        async with engine.begin() as conn:
            await conn.execute(insert(ITEMS).values(name="after"))
            await conn.execute(insert(ITEMS).values(name="and inline"))
    waited = asyncio.get_running_loop().time() - started
    ticker.cancel()
    holder.close()
    assert 0.25 < waited < 5 and ticks >= 10
    async with engine.connect() as conn:
        names = (await conn.execute(select(ITEMS.c.name).order_by(ITEMS.c.id))).all()
        assert names == [("after",), ("and inline",)]
        assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 10000
