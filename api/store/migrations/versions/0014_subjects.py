"""subjects: the production model that wrote a judged response, and its use case

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TABLES = ("evaluations", "assessments")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("subject_model", sa.String(length=256), nullable=True))
            batch_op.add_column(sa.Column("subject_version", sa.String(length=128), nullable=True))
            batch_op.add_column(sa.Column("use_case", sa.String(length=128), nullable=True))
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_evaluations_subject_use_case",
            ["subject_model", "use_case", "created_at"],
            unique=False,
        )
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assessments_subject_use_case",
            ["subject_model", "use_case", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_index("ix_assessments_subject_use_case")
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.drop_index("ix_evaluations_subject_use_case")
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("use_case")
            batch_op.drop_column("subject_version")
            batch_op.drop_column("subject_model")
