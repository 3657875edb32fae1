"""Database engines: async for the service, sync for Alembic and the window statistics.
All state lives in the database; engines are built once, in the app's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from api.store.sqlite_driver import creator

SessionFactory = async_sessionmaker[AsyncSession]


def async_url(url: str) -> str:
    """The async-driver form of a database URL (aiosqlite, psycopg)."""
    u = make_url(url)
    if u.drivername in ("sqlite", "sqlite+pysqlite"):
        u = u.set(drivername="sqlite+aiosqlite")
    elif u.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    """The sync-driver form of a database URL, for Alembic."""
    u = make_url(url)
    if u.drivername == "sqlite+aiosqlite":
        u = u.set(drivername="sqlite")
    elif u.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+asyncpg"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def unsupported_backend(url: str) -> str | None:
    """What is wrong with a URL of a database Quorum does not run on (None: SQLite,
    PostgreSQL, or not parsable, which `database_problem` says when it is used). Names
    the backend only: the URL may hold a password."""
    from sqlalchemy.exc import ArgumentError

    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        return None
    if backend == "sqlite" and sqlite_path(url) is None:
        # Every connection would see a database of its own, empty: nothing would persist.
        return "an in-memory SQLite database keeps nothing: name a file (sqlite:///quorum.db)"
    if backend in ("sqlite", "postgresql"):
        return None
    return (
        f"Quorum runs on SQLite or PostgreSQL, not {backend!r} "
        "(e.g. sqlite:///quorum.db or postgresql+psycopg://user:pw@host/db)"
    )


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite URL (None: not SQLite, or in memory)."""
    try:
        u = make_url(url)
    except Exception:
        return None
    if u.get_backend_name() != "sqlite" or u.database in (None, "", ":memory:"):
        return None
    if str(u.query.get("uri", "")).lower() in ("true", "1") and u.database.startswith("file:"):
        # sqlite:///file:/srv/q.db?uri=true&mode=rwc: SQLite's own URI form
        file = unquote(urlsplit(u.database).path)
        return None if u.query.get("mode") == "memory" or file in ("", ":memory:") else file
    return u.database


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cur.execute("PRAGMA busy_timeout=10000")  # writers queue instead of failing
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_engine(url: str, connections: int, pragmas: Callable[[Any, Any], None]) -> AsyncEngine:
    """An engine of `connections` pooled connections on the SQLite `url`, through
    Quorum's driver (`sqlite_driver.creator`), each set up by `pragmas` as it connects."""
    driver_url = async_url(url)
    engine = create_async_engine(
        driver_url,
        async_creator=creator(driver_url, timeout=10),
        pool_size=connections,
        max_overflow=0,
        pool_timeout=30,
    )
    event.listen(engine.sync_engine, "connect", pragmas)
    return engine


def make_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    """An async engine for `url` (SQLite file or PostgreSQL)."""
    if is_sqlite(url):
        # One connection per process: SQLite has one write lock, and many pooled
        # connections fighting for it through its sleep-and-retry busy handler starve
        # writers ("database is locked") under load. With one connection, this process's
        # transactions queue FIFO in the pool instead; other processes still wait on the
        # busy timeout. `pool_size` is for PostgreSQL.
        return _sqlite_engine(url, 1, _sqlite_pragmas)
    return create_async_engine(
        async_url(url), pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


def _sqlite_reader_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA query_only=ON")  # a write here is a bug: refused, not committed
    cur.close()


READERS = 2
"""Connections of a SQLite read engine (`make_read_engine`)."""


def make_read_engine(url: str) -> AsyncEngine | None:
    """On a SQLite file, an engine of `READERS` read-only connections for the reads every
    request makes before its handler runs (the API key check). In WAL mode a reader
    neither waits for the writer nor holds it up, and sees every committed write; on the
    write engine's one connection the same read would queue behind every transaction in
    the process (under load the key check waited 15-35 ms there, docs/benchmarks.md).
    None on PostgreSQL (its pool serves reads concurrently) and on an in-memory SQLite
    database (another connection would see another database)."""
    if sqlite_path(url) is None:
        return None
    return _sqlite_engine(url, READERS, _sqlite_reader_pragmas)


def make_sync_engine(url: str) -> Engine:
    """A small synchronous engine for the window statistics, which run in a worker
    thread (decoding and fitting 100k rows would otherwise stall the event loop)."""
    url = sync_url(url)
    args = {"connect_args": {"timeout": 30}} if is_sqlite(url) else {"pool_pre_ping": True}
    return create_engine(url, pool_size=2, max_overflow=2, **args)


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def ping(factory: SessionFactory) -> None:
    """Raise unless the database answers a trivial query."""
    async with factory() as session:
        await session.exec(text("SELECT 1"))  # type: ignore[call-overload]


async def session_scope(factory: SessionFactory) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on error."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


class SchemaProblem(Exception):
    """The database answers, but its schema cannot be used as it is: no such SQLite file,
    no Quorum schema, a revision this Quorum does not know, or one behind head with
    migrations off. The message is one line: what is wrong and what to do."""


_SCHEMA = ("no such table", "no such column", "already exists")
"""SQLite's words (SQLITE_ERROR) for a table or column missing or there twice."""

_SQLITE = {
    5: "busy",  # BUSY
    6: "busy",  # LOCKED
    3: "not permitted",  # PERM
    8: "cannot write",  # READONLY
    13: "cannot write",  # FULL
    10: "cannot read or write",  # IOERR
    11: "cannot read or write",  # CORRUPT
}
"""SQLite's primary result codes of a failure that is not Quorum's bug."""

_SQLSTATE = {
    "42P01": "schema problem",  # undefined_table
    "42703": "schema problem",  # undefined_column
    "42P07": "schema problem",  # duplicate_table
    "42501": "not permitted",  # insufficient_privilege
    "25006": "cannot write",  # read_only_sql_transaction: a standby
    "53100": "cannot write",  # disk_full
    "55P03": "busy",  # lock_not_available
    "40P01": "busy",  # deadlock_detected
    "40001": "busy",  # serialization_failure
}
"""PostgreSQL's SQLSTATE codes of a failure that is not Quorum's bug."""


def _failure(exc: BaseException) -> str | None:
    """What went wrong, in a few words, when `exc` is a database failure that is not
    Quorum's bug (None otherwise): a lock held, a write refused (read-only file, disk
    full), a schema that does not match, a connection that failed or was lost."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    if not isinstance(exc, DBAPIError):
        return None
    orig = exc.orig
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        primary = code & 0xFF  # the extended codes (SQLITE_IOERR_WRITE...) keep it
        if primary == 1 and any(words in str(orig) for words in _SCHEMA):
            return "schema problem"
        if primary == 14 and exc.statement is not None:  # CANTOPEN: a journal, a temp file
            return "cannot read or write"
        found = _SQLITE.get(primary)
    else:
        found = _SQLSTATE.get(str(getattr(orig, "sqlstate", None) or ""))
    if found is not None or not isinstance(exc, OperationalError):
        return found
    if exc.connection_invalidated:
        return "lost the connection"
    # No statement: raised while connecting (a commit's failures are those above).
    return "cannot connect" if exc.statement is None else "failed"


def database_problem(exc: BaseException, url: str) -> str | None:
    """One line naming what is wrong with the database `url` when `exc` comes from
    reaching or using it (unparsable URL, unknown driver, no connection, a schema that
    cannot be used, a lock, a write refused); None otherwise (Quorum's bug). The password
    never appears."""
    import sqlite3

    from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError

    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except Exception:
        shown = "(not a URL)"
    failure = _failure(exc)
    if isinstance(exc, SchemaProblem):
        problem = str(exc)
    elif isinstance(exc, NoSuchModuleError):
        problem = f"unknown database driver ({exc})"
    elif isinstance(exc, ArgumentError):
        problem = (
            "not a database URL (e.g. sqlite:///quorum.db or postgresql+psycopg://user:pw@host/db)"
        )
    elif failure is not None:
        orig = getattr(exc, "orig", None)
        first = str(orig if orig is not None else exc).strip().splitlines()
        problem = f"{failure}: {first[0] if first else type(exc).__name__}"
    elif isinstance(exc, DatabaseError) and type(exc.orig) is sqlite3.DatabaseError:
        # The plain class, not a subclass (IntegrityError and the like are our bugs):
        # SQLite says "file is not a database" of a file that is something else.
        problem = f"not an SQLite database: {exc.orig}"
    else:
        return None
    return f"QUORUM_DATABASE_URL={shown}: {problem}"
