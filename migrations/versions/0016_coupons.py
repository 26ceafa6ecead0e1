"""grow: coupon definitions and issued coupon codes

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import siyu.db.types

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = siyu.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "growth_coupon_definition",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("code_prefix", sa.String(length=12), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_off", sa.BigInteger(), nullable=False),
        sa.Column("percent_off", sa.Integer(), nullable=False),
        sa.Column("minimum_spend", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("valid_from", TIME, nullable=True),
        sa.Column("valid_until", TIME, nullable=True),
        sa.Column("valid_days", sa.Integer(), nullable=True),
        sa.Column("limit_per_contact", sa.Integer(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=True),
        sa.Column("issued_count", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_growth_coupon_definition")),
        sa.UniqueConstraint("name", name=op.f("uq_growth_coupon_definition_name")),
    )
    op.create_table(
        "growth_coupon",
        sa.Column("definition_id", BIG_ID, nullable=False),
        sa.Column("contact_id", BIG_ID, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=True),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("issued_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=True),
        sa.Column("expired_at", TIME, nullable=True),
        sa.Column("redeemed_at", TIME, nullable=True),
        sa.Column("order_id", BIG_ID, nullable=True),
        sa.Column("order_ref", sa.String(length=64), nullable=True),
        sa.Column("order_amount", sa.BigInteger(), nullable=True),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["definition_id"],
            ["growth_coupon_definition.id"],
            name=op.f("fk_growth_coupon_definition_id_growth_coupon_definition"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_growth_coupon_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["contact_order.id"],
            name=op.f("fk_growth_coupon_order_id_contact_order"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_growth_coupon")),
        sa.UniqueConstraint("code", name=op.f("uq_growth_coupon_code")),
        sa.UniqueConstraint("order_id", name=op.f("uq_growth_coupon_order_id")),
        sa.UniqueConstraint(
            "definition_id",
            "contact_id",
            "source",
            "source_ref",
            name=op.f("uq_growth_coupon_definition_id_contact_id_source_source_ref"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_growth_coupon_contact_id"), "growth_coupon", ["contact_id"])
    op.create_index(op.f("ix_growth_coupon_expires_at"), "growth_coupon", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_growth_coupon_expires_at"), table_name="growth_coupon")
    op.drop_index(op.f("ix_growth_coupon_contact_id"), table_name="growth_coupon")
    op.drop_table("growth_coupon")
    op.drop_table("growth_coupon_definition")
