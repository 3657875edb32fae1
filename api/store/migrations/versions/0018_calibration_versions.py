"""calibration versions: one row per panel and version

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04

Two calibrations of one panel stored at once (two `quorum calibrate --apply`, or two
replicas) could both take the same version: nothing kept them apart. The writer now
takes a per-panel lock before it reads the newest version (`api.store.calibrations`),
and this unique index makes a second row of a (panel, version) impossible.

Duplicates already stored are renumbered, neither refused (the service would not start
until someone edited the table by hand) nor deleted (each is a calibration someone ran,
pinned by an audit event). Within a panel, rows are taken in the order (version,
created_at, id) and each gets the smallest version above the one before it: rows before
the first duplicate keep theirs, the later twin and every row after it move up by what
it takes (1, 2, 2, 3 becomes 1, 2, 3, 4). The history keeps its order and the newest
applied row stays the one in force, except that between applied twins it is now always
the later one (before, either could be). The renumbered rows no longer match the record
their `calibrated` audit event pinned, so `quorum audit verify` reports each as
`record-changed`: the migration logs every one (id, panel, old and new version) as a
warning, to be filed with the audit. The downgrade drops the index and leaves the
numbers as they are.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.versions.0018")


def _renumbered(rows: list[tuple[str, str, int]]) -> list[tuple[str, str, int, int]]:
    """(id, panel, old version, new version) of each row that must move; `rows` are
    (id, panel, version) in (panel, version, created_at, id) order."""
    moves = []
    panel, last = None, 0
    for row_id, row_panel, version in rows:
        if row_panel != panel:
            panel, last = row_panel, 0
        new = max(version, last + 1)
        if new != version:
            moves.append((row_id, row_panel, version, new))
        last = new
    return moves


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, panel, version FROM calibrations ORDER BY panel, version, created_at, id"
        )
    ).all()
    moves = _renumbered([(str(i), str(p), int(v)) for i, p, v in rows])
    for row_id, panel, old, new in moves:
        log.warning(
            "calibration %s of panel %s: version %d was stored twice; renumbered %d"
            " (quorum audit verify will report it as record-changed)",
            row_id,
            panel,
            old,
            new,
        )
    if moves:
        conn.execute(
            sa.text("UPDATE calibrations SET version = :new WHERE id = :id"),
            [{"new": new, "id": row_id} for row_id, _, _, new in moves],
        )
    op.create_index(
        "uq_calibrations_panel_version", "calibrations", ["panel", "version"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_calibrations_panel_version", table_name="calibrations")
