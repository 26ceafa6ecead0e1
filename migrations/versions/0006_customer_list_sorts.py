"""customer list sorts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22

The console's customer list sorts by last order, total spent and order count. Without an
index every page sorted the whole pool (about 0.2-0.35 s at a million contacts); with one,
a page is an index range whatever its depth. (Alembic's autogenerate cannot compare the
PostgreSQL index's DESC NULLS LAST with the model's `postgresql_ops`; it is the same index.)
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index("ix_contact_order_count", ["order_count", "id"], unique=False)
        batch_op.create_index("ix_contact_total_spent", ["total_spent", "id"], unique=False)
        batch_op.create_index(
            "ix_contact_last_order_at",
            ["last_order_at", "id"],
            unique=False,
            postgresql_ops={"last_order_at": "DESC NULLS LAST", "id": "DESC"},
        )
    # Fresh statistics, so the planner weighs the new indexes against the filters' own.
    op.execute("ANALYZE contact")


def downgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_last_order_at")
        batch_op.drop_index("ix_contact_total_spent")
        batch_op.drop_index("ix_contact_order_count")
