"""assessments: one input judged on every criterion of a profile

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assessments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("profile", sa.String(length=64), nullable=False),
        sa.Column("input", sa.JSON(), nullable=False),
        sa.Column("request_metadata", sa.JSON(), nullable=True),
        sa.Column("app", sa.String(length=128), nullable=True),
        sa.Column("criteria", sa.JSON(), nullable=True),
        sa.Column("min_score", sa.Float(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=256), nullable=True),
        sa.Column("tenant", sa.String(length=64), nullable=True),
        sa.Column("idempotency_tenant", sa.String(length=64), nullable=False, server_default=""),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.Column("api_key_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "idempotency_tenant", "idempotency_key", name="uq_assessments_tenant_idempotency_key"
        ),
    )
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assessments_profile"), ["profile"], unique=False)
        batch_op.create_index(batch_op.f("ix_assessments_created_at"), ["created_at"], unique=False)
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assessment_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("guidance", sa.Text(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_evaluations_assessment_id"), ["assessment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluations_assessment_id"))
        batch_op.drop_column("guidance")
        batch_op.drop_column("assessment_id")
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessments_created_at"))
        batch_op.drop_index(batch_op.f("ix_assessments_profile"))
    op.drop_table("assessments")
