"""Quorum's log lines: `LEVEL logger: message` on stderr, at INFO, alembic's at WARNING.

Every command sets it up (`api.cli.main`), and so does each process that builds the app
without one (`create_app`): `quorum serve --workers N` starts N worker processes that
import the app afresh, and they would otherwise log in Python's bare default format and
drop INFO lines such as "quorum ready".
"""

from __future__ import annotations

import logging

FORMAT = "%(levelname)s %(name)s: %(message)s"


def configure_logging() -> None:
    """Set Quorum's format on the root logger, unless the process already has a handler
    (a test runner's, an embedding application's, or this one's from before)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format=FORMAT)
    # Alembic logs every step at INFO: nothing a user of a command needs (and nothing
    # should come before a new key). Its warnings still show.
    logging.getLogger("alembic").setLevel(logging.WARNING)
