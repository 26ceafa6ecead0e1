"""customer lifetime value: each fit, and each buyer's last predictions

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04

analytics_clv_fit records every BG/NBD + Gamma-Gamma fit (its inputs, estimates and timing);
analytics_clv_prediction holds one row per buyer from the newest fit, replaced whole by the
next. Nothing to backfill: the first fit (weekly, or `siyu clv fit`) fills them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import siyu.db.types

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "analytics_clv_fit",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("calibration_end", sa.Date(), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("monthly_discount", sa.Float(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("repeat_buyers", sa.Integer(), nullable=False),
        sa.Column("bgnbd", JSON, nullable=False),
        sa.Column("gamma_gamma", JSON, nullable=False),
        sa.Column("started_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_clv_fit")),
    )
    op.create_index(op.f("ix_analytics_clv_fit_finished_at"), "analytics_clv_fit", ["finished_at"])
    op.create_table(
        "analytics_clv_prediction",
        sa.Column("contact_id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("fit_id", BIG_ID, nullable=False),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("recency", sa.Float(), nullable=False),
        sa.Column("age", sa.Float(), nullable=False),
        sa.Column("monetary", sa.BigInteger(), nullable=False),
        sa.Column("expected_purchases", sa.Float(), nullable=False),
        sa.Column("p_alive", sa.Float(), nullable=False),
        sa.Column("expected_spend", sa.BigInteger(), nullable=False),
        sa.Column("clv", sa.BigInteger(), nullable=False),
        sa.Column("fitted_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_analytics_clv_prediction_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["fit_id"],
            ["analytics_clv_fit.id"],
            name=op.f("fk_analytics_clv_prediction_fit_id_analytics_clv_fit"),
        ),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_analytics_clv_prediction")),
    )
    for column in ("fit_id", "expected_purchases", "p_alive", "clv"):
        op.create_index(
            op.f(f"ix_analytics_clv_prediction_{column}"), "analytics_clv_prediction", [column]
        )


def downgrade() -> None:
    for column in ("clv", "p_alive", "expected_purchases", "fit_id"):
        op.drop_index(
            op.f(f"ix_analytics_clv_prediction_{column}"), table_name="analytics_clv_prediction"
        )
    op.drop_table("analytics_clv_prediction")
    op.drop_index(op.f("ix_analytics_clv_fit_finished_at"), table_name="analytics_clv_fit")
    op.drop_table("analytics_clv_fit")
