"""tenants and principals: tenant on keys, evaluations and review items; idempotency
keys unique per tenant (on (idempotency_tenant, idempotency_key), idempotency_tenant
being the tenant or "" for none); the deciding key on review decisions

Rows from before this migration belong to no tenant (NULL): only admin keys of every
tenant see them. Keys from before it get their own id as their tenant (nothing of theirs
was stored with a tenant, so they see none of the old rows unless they are admin keys
recreated with `--tenant '*'`).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# 0001 created the idempotency key's unique constraint without a name: SQLite's batch
# mode needs one to drop it, PostgreSQL named it itself.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _old_unique_name() -> str:
    if op.get_bind().dialect.name == "postgresql":
        return "evaluations_idempotency_key_key"
    return "uq_evaluations_idempotency_key"


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.add_column(sa.Column("tenant", sa.String(length=64), nullable=True))
    op.execute("UPDATE api_keys SET tenant = id")

    with op.batch_alter_table("evaluations", naming_convention=NAMING) as batch_op:
        batch_op.add_column(sa.Column("tenant", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("idempotency_tenant", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.drop_constraint(_old_unique_name(), type_="unique")
        batch_op.create_index("ix_evaluations_tenant", ["tenant"], unique=False)
        batch_op.create_index(
            "uq_evaluations_tenant_idempotency_key",
            ["idempotency_tenant", "idempotency_key"],
            unique=True,
        )

    with op.batch_alter_table("review_items") as batch_op:
        batch_op.add_column(sa.Column("tenant", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_review_items_tenant", ["tenant"], unique=False)

    with op.batch_alter_table("review_decisions") as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("as_admin", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("review_decisions") as batch_op:
        batch_op.drop_column("as_admin")
        batch_op.drop_column("key_id")
    with op.batch_alter_table("review_items") as batch_op:
        batch_op.drop_index("ix_review_items_tenant")
        batch_op.drop_column("tenant")
    with op.batch_alter_table("evaluations") as batch_op:
        batch_op.drop_index("uq_evaluations_tenant_idempotency_key")
        batch_op.drop_index("ix_evaluations_tenant")
        batch_op.drop_column("idempotency_tenant")
        batch_op.drop_column("tenant")
        batch_op.create_unique_constraint(_old_unique_name(), ["idempotency_key"])
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.drop_column("tenant")
