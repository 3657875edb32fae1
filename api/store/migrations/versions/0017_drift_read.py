"""drift read: the sweep marks each final verdict it reads

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02

Until now the drift sweep read past a cursor (`governance_cursor`: the updated_at and id
of the last verdict read), which misses a verdict whose transaction commits after a
later-stamped one was read. Verdicts at or before the cursor were read: they are marked.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

UNREAD = (
    "status = 'decided' AND NOT drift_read AND subject_model IS NOT NULL"
    " AND verdict_compliant IS NOT NULL"
)


def upgrade() -> None:
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("drift_read", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.execute(
        "UPDATE evaluations SET drift_read = true WHERE EXISTS ("
        " SELECT 1 FROM governance_cursor c WHERE c.name = 'drift' AND ("
        " evaluations.updated_at < c.updated_at OR ("
        " evaluations.updated_at = c.updated_at AND evaluations.id <= c.evaluation_id)))"
    )
    op.create_index(
        "ix_evaluations_drift_unread",
        "evaluations",
        ["updated_at", "id"],
        sqlite_where=sa.text(UNREAD),
        postgresql_where=sa.text(UNREAD),
    )


def downgrade() -> None:
    op.drop_index("ix_evaluations_drift_unread", table_name="evaluations")
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.drop_column("drift_read")
