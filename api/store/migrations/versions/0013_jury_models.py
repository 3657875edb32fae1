"""jury models

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jury_models",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("panel", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rubric_id", sa.String(length=64), nullable=False),
        sa.Column("rubric_version", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("n_items", sa.Integer(), nullable=False),
        sa.Column("n_labelled", sa.Integer(), nullable=False),
        sa.Column("n_patterns", sa.Integer(), nullable=False),
        sa.Column("iterations", sa.Integer(), nullable=False),
        sa.Column("converged", sa.Boolean(), nullable=False),
        sa.Column("log_likelihood", sa.Float(), nullable=False),
        sa.Column("fit_seconds", sa.Float(), nullable=False),
        sa.Column("model", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("panel", "version", name="uq_jury_models_panel_version"),
    )
    with op.batch_alter_table("jury_models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jury_models_panel"), ["panel"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("jury_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jury_models_panel"))
    op.drop_table("jury_models")
