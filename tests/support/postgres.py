"""A scratch PostgreSQL database for tests, on the server QUORUM_TEST_POSTGRES_URL names.

benchmarks/common.py keeps its own copy of `scratch_postgres`: tests and benchmarks do not
import each other (issue 14), and twenty lines are not worth a third package."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

POSTGRES_ENV = "QUORUM_TEST_POSTGRES_URL"


def plain(url: str) -> str:
    """`url` as libpq takes it (psycopg.connect): no SQLAlchemy driver suffix."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.contextmanager
def scratch_postgres(url: str, prefix: str = "quorum_test") -> Iterator[str]:
    """A fresh, empty database on the server of `url` (its SQLAlchemy URL), dropped after."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = plain(url)
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (
            make_url(url)
            .set(database=name, drivername="postgresql+psycopg")
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
