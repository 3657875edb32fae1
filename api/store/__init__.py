"""The store: engines, tables, one repository per aggregate, migrations. The only part
of Quorum that imports SQLAlchemy or SQLModel; services use the names exported here.

Repositories take a session and never commit: the caller owns the transaction."""

from sqlalchemy import Engine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from api.store.engine import (
    SchemaProblem,
    SessionFactory,
    database_problem,
    is_sqlite,
    make_engine,
    make_read_engine,
    make_session_factory,
    make_sync_engine,
    ping,
)
from api.store.reach import EVERYTHING, Reach
from api.store.sqlite_driver import inline_writes

__all__ = [
    "EVERYTHING",
    "AsyncSession",
    "DBAPIError",
    "DataError",
    "Engine",
    "IntegrityError",
    "OperationalError",
    "PoolTimeout",
    "Reach",
    "SchemaProblem",
    "Session",
    "SessionFactory",
    "database_problem",
    "inline_writes",
    "is_sqlite",
    "make_engine",
    "make_read_engine",
    "make_session_factory",
    "make_sync_engine",
    "ping",
]
