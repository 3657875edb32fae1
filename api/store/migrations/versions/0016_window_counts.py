"""window counts: vote patterns per panel, rubric and hour

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02

Existing evaluations are counted by the service at start-up (`StatsService.backfill`):
the pattern of an evaluation is computed by application code that this migration
should not freeze a copy of.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "window_counts",
        sa.Column("panel", sa.String(length=64), nullable=False),
        sa.Column("rubric_id", sa.String(length=64), nullable=False),
        sa.Column("bucket", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("panel", "rubric_id", "bucket", "key"),
    )
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("window_key", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.drop_column("window_key")
    op.drop_table("window_counts")
