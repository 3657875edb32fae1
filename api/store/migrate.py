"""Apply Alembic migrations programmatically (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, pool, text

from api.store.engine import is_sqlite, sync_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", sync_url(database_url).replace("%", "%%"))
    return cfg


MIGRATION_LOCK = 0x71756F72756D  # "quorum": the PostgreSQL advisory lock key


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database schema up to `revision`, one process at a time on PostgreSQL:
    Alembic takes no lock, and replicas whose init containers start together would
    otherwise race to create the same tables. A session-level advisory lock on a separate
    autocommit connection is held for the upgrade; the next process waits, then finds the
    schema at head and does nothing. The lock goes with the connection if the process
    dies. SQLite (one file, one writer) serialises by itself."""
    if is_sqlite(database_url):
        command.upgrade(alembic_config(database_url), revision)
        return
    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            try:
                command.upgrade(alembic_config(database_url), revision)
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
    finally:
        engine.dispose()
