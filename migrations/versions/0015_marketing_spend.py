"""measure: marketing spend per channel and month

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import siyu.db.types

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = siyu.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "analytics_marketing_spend",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_marketing_spend")),
        sa.UniqueConstraint(
            "month", "channel", name=op.f("uq_analytics_marketing_spend_month_channel")
        ),
    )
    op.create_index(
        op.f("ix_analytics_marketing_spend_channel"), "analytics_marketing_spend", ["channel"]
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_analytics_marketing_spend_channel"), table_name="analytics_marketing_spend"
    )
    op.drop_table("analytics_marketing_spend")
