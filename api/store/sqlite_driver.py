"""SQLite through aiosqlite with one trip to its thread per statement.

aiosqlite runs sqlite3 on a thread of its own, and SQLAlchemy's adapter awaits each
cursor method there in turn: make the cursor, execute, fetch the rows, close. That is 3-4
round trips per statement, each a queue hand-off, a GIL switch and an event-loop wake-up
(about 60-90 us of CPU on the benchmark machine, against a few us for the statement
itself), and a stored evaluation runs about 15 statements. The cursor here does the
whole statement in one trip (execute, fetch every row, close) and answers the adapter
from what it brought back; the adapter buffers every row of a statement anyway, so
nothing is held longer than before. A streamed result (`stream_results`, which Quorum
does not use) is the exception: its rows also arrive whole, and are handed out from here.

A rollback with no transaction open at the driver is skipped (`rollback`). Inside
`inline_writes`, the statements of a short write transaction run with no trip at all but
its `COMMIT`.

It is still aiosqlite (its thread, queue and connection object) and still SQLAlchemy's
`sqlite+aiosqlite` dialect: `make_engine` hands this connection to the engine through
`async_creator`, with the file and options the URL gives. docs/benchmarks.md has the A/B.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import make_url

_Outcome = tuple[Any, list[Any], int, int | None]

_INLINE: ContextVar[bool] = ContextVar("quorum_sqlite_inline", default=False)
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_SQLITE_BUSY = 5


def _without_waiting(
    conn: sqlite3.Connection, many: bool, sql: str, parameters: Any
) -> _Outcome | None:
    """The first write of a transaction on the calling thread, with SQLite's busy handler
    off: its outcome, or None (nothing done) when another connection holds the write
    lock, for the caller to wait for it on aiosqlite's thread as usual."""
    wait_ms = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute("PRAGMA busy_timeout=0")
    try:
        return _run(conn, many, sql, parameters)
    except sqlite3.OperationalError as exc:
        code = getattr(exc, "sqlite_errorcode", None)  # SQLITE_BUSY and its extended codes
        if isinstance(code, int) and code & 0xFF == _SQLITE_BUSY:
            return None
        raise
    finally:
        conn.execute(f"PRAGMA busy_timeout={int(wait_ms)}")


@contextmanager
def inline_writes() -> Iterator[None]:
    """Within this block, the statements of a SQLite write transaction run on the calling
    thread, with no trip to aiosqlite's thread: for short transactions of a few small
    statements (storing one evaluation). The first write tries for the write lock with
    SQLite's busy handler off (`_without_waiting`); if another connection (another
    process) holds the lock, it waits for it on aiosqlite's thread as usual. Every later
    statement of the transaction holds the lock. The `COMMIT` still goes through the
    thread, since it may run a WAL checkpoint, which writes and syncs the database file.

    Why it is safe there: holding the write lock, a statement waits for no lock (in WAL
    mode readers never block the writer), so the event loop never waits on the busy
    handler; and the connection is the caller's alone until its session ends, every
    earlier trip awaited, so aiosqlite's thread is idle. Why it pays: each trip is a
    hand-off to the thread and two passes through the event loop's ready queue, and under
    load the connection, which every transaction of the process queues for, is held for
    all of them."""
    token = _INLINE.set(True)
    try:
        yield
    finally:
        _INLINE.reset(token)


def _run(conn: sqlite3.Connection, many: bool, sql: str, parameters: Any) -> _Outcome:
    """One statement on the connection's thread: execute, every row, close."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor:
    """The part of aiosqlite's `Cursor` that SQLAlchemy's adapter uses; a statement is
    one trip to the connection's thread and its rows come back with it."""

    arraysize = 1

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self._rows: list[Any] = []
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _statement(self, many: bool, sql: str, parameters: Any) -> OneTripCursor:
        conn = self._connection
        raw = conn._conn
        outcome: _Outcome | None = None
        if _INLINE.get():  # `inline_writes`
            if raw.in_transaction:  # holding the write lock
                outcome = _run(raw, many, sql, parameters)
            elif sql.lstrip()[:7].upper().startswith(_WRITES):  # takes the lock, or None
                outcome = _without_waiting(raw, many, sql, parameters)
        if outcome is None:
            outcome = await conn._execute(  # aiosqlite's own queue and thread
                lambda: _run(raw, many, sql, parameters)
            )
        self.description, self._rows, self.rowcount, self.lastrowid = outcome
        return self

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> OneTripCursor:
        return await self._statement(False, sql, () if parameters is None else parameters)

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> OneTripCursor:
        return await self._statement(True, sql, parameters)

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        count = self.arraysize if size is None else size
        rows, self._rows = self._rows[:count], self._rows[count:]
        return rows

    async def fetchall(self) -> Sequence[Any]:
        rows, self._rows = self._rows, []  # what SQLAlchemy's adapter calls: no copy
        return rows

    async def close(self) -> None:
        self._rows.clear()


class OneTripConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors make one trip per statement."""

    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)

    async def rollback(self) -> None:
        """Roll back, with no trip to the thread when the driver has no transaction open.
        sqlite3 begins one only at a write, so a read-only session's close and the pool's
        reset of a connection whose session committed have nothing to undo: two or three
        trips per stored evaluation, on the one connection every transaction queues for.
        A write left open (an error, a cancelled task) is still rolled back."""
        conn = self._conn  # aiosqlite's sqlite3 connection (raises if closed)
        if not conn.in_transaction:
            return
        await super().rollback()


def creator(url: str, **connect_args: Any) -> Callable[[], Awaitable[OneTripConnection]]:
    """The `async_creator` for an engine on the SQLite `url`: what the dialect would
    pass to sqlite3 for that URL, with `connect_args` on top."""
    args, kwargs = SQLiteDialect_aiosqlite().create_connect_args(make_url(url))
    kwargs = {**kwargs, **connect_args}

    async def connect() -> OneTripConnection:
        connection = OneTripConnection(partial(sqlite3.connect, *args, **kwargs), 64)
        # as SQLAlchemy's dialect does; before aiosqlite 0.22 the connection is the thread
        thread: Any = getattr(connection, "_thread", connection)
        thread.daemon = True
        await connection
        return connection

    return connect
