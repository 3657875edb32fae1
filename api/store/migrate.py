"""Apply Alembic migrations programmatically (no alembic.ini needed), one process at a
time, and check a database's schema before a command uses it."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, pool, text

from api.store.engine import SchemaProblem, sqlite_path, sync_url

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", sync_url(database_url).replace("%", "%%"))
    return cfg


MIGRATION_LOCK = 0x71756F72756D  # "quorum": the PostgreSQL advisory lock key
LOCK_SUFFIX = ".migrate-lock"
"""The file beside a SQLite database whose lock `upgrade` holds (left there: removing it
would race with a process about to lock it)."""


def upgrade(database_url: str, revision: str = "head") -> str | None:
    """Bring the database schema up to `revision`, one process at a time: Alembic takes no
    lock, and processes that start together (replicas' init containers, two first
    commands) would otherwise race to create the same tables, all but one failing. On
    PostgreSQL a session-level advisory lock on a separate autocommit connection is held
    for the upgrade, on SQLite an exclusive lock on a file beside the database; the next
    process waits, then finds the schema at head and does nothing. Either lock goes with
    the process if it dies. A schema at a revision this Quorum does not know, made by a
    newer one (a rollback, an old replica in a rolling update), is left as it is: the
    revision is returned and logged, and the caller goes on (docs/operations.md: each
    release's schema works for the release before it)."""
    with _one_at_a_time(database_url):
        current, tables = _state(database_url)
        head = _head()
        newer = _newer(current, tables)
        if newer is not None and revision == "head":
            return newer
        if revision == "head" and current == (head,):
            return None
        command.upgrade(alembic_config(database_url), revision)
        return None


def ensure_schema(database_url: str, *, create: bool, migrate: bool) -> None:
    """Check the schema before a command uses it, or raise SchemaProblem (one line).
    `create`: a database with no Quorum schema (a missing SQLite file too) is created and
    migrated to head, with `migrate` off only if it holds no table at all; `migrate`: a
    Quorum schema behind head is brought to it (`create` alone does not). Otherwise it
    must be at head (or a newer Quorum's, logged), after waiting for a migration under
    way (a first command started beside `quorum migrate`). A read never creates a
    database: a mistyped SQLite path would otherwise become a new empty one, and the
    command report 0 of everything."""
    path = sqlite_path(database_url)
    head = _head()
    for waited in (False, True):
        missing = path is not None and not os.path.exists(path)
        current, tables = ((), []) if missing else _state(database_url)
        if not missing and (current == (head,) or _newer(current, tables) is not None):
            return
        # `create` alone (auto-migrate off) makes a schema only where there is nothing.
        empty = not (current or tables)
        if (create and not current and (migrate or empty)) or (migrate and current):
            upgrade(database_url)
            return
        if waited or (missing and not os.path.exists(str(path) + LOCK_SUFFIX)):
            break
        with _one_at_a_time(database_url):  # a migration under way: wait, then look again
            pass
    if missing:
        raise SchemaProblem(f"no database file {os.path.abspath(str(path))}: {_MAKE_IT}")
    if not current:
        raise SchemaProblem(f"no Quorum schema in it (no alembic_version table): {_MAKE_IT}")
    raise SchemaProblem(
        f"schema at revision {', '.join(current)}, this Quorum needs {head}: run `quorum "
        "migrate` (QUORUM_AUTO_MIGRATE is off)"
    )


_MAKE_IT = "create it with `quorum migrate`, or correct QUORUM_DATABASE_URL"


@functools.cache
def _script() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS))


def _head() -> str:
    return _script().get_current_head() or ""


def _state(database_url: str) -> tuple[tuple[str, ...], list[str]]:
    """The database's Alembic revisions (empty: no Quorum schema) and its tables, read on
    one connection."""
    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_heads()
            return tuple(current), inspect(conn).get_table_names()
    finally:
        engine.dispose()


def _newer(current: tuple[str, ...], tables: list[str]) -> str | None:
    """A revision of `current` made by a newer Quorum (logged), or None. A revision this
    Quorum does not know is a newer one's when it is numbered as Quorum's are, above
    this head, and Quorum's tables are there (`tables`); any other (another
    application's Alembic table in a shared database) is a SchemaProblem."""
    head = _head()
    known = {rev.revision for rev in _script().walk_revisions()}
    unknown = next((rev for rev in current if rev not in known), None)
    if unknown is None:
        return None
    ours = re.fullmatch(r"\d{4}", unknown) and head.isdigit() and int(unknown) > int(head)
    if not ours or "api_keys" not in tables:
        raise SchemaProblem(
            f"schema revision {unknown!r} is not one of Quorum's (newest known: {head}): "
            "another application's database? point QUORUM_DATABASE_URL at Quorum's own"
        )
    log.warning(
        "schema revision %r is newer than this Quorum's (%s): made by a newer Quorum; left "
        "as it is, and used as the schema of the release before it",
        unknown,
        head,
    )
    return unknown


@contextlib.contextmanager
def _one_at_a_time(database_url: str) -> Iterator[None]:
    path = sqlite_path(database_url)
    lock = _sqlite_lock(path) if path is not None else _postgres_lock(database_url)
    with lock:
        yield


@contextlib.contextmanager
def _sqlite_lock(path: str) -> Iterator[None]:
    """An exclusive lock (flock) on `path` + LOCK_SUFFIX for the block. None when that
    file cannot be made (no such folder, not writable): SQLite then says what is wrong
    with the database itself."""
    import fcntl

    try:
        fd = os.open(path + LOCK_SUFFIX, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        fd = None
    try:
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("waiting for another process migrating %s", path)
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError as exc:  # ENOLCK (NFS without lockd), EINVAL (some FUSE mounts)
                log.warning("migrating %s without a lock: %s", path, exc.strerror or exc)
        yield
    finally:
        if fd is not None:
            os.close(fd)  # and the lock with it


@contextlib.contextmanager
def _postgres_lock(database_url: str) -> Iterator[None]:
    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            key = {"key": MIGRATION_LOCK}
            if not conn.execute(text("SELECT pg_try_advisory_lock(:key)"), key).scalar():
                log.info("waiting for another process migrating the database")
                conn.execute(text("SELECT pg_advisory_lock(:key)"), key)
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), key)
    finally:
        engine.dispose()
