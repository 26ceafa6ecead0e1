"""trackable links: short links and their clicks

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 21:05:56.857242
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import siyu.db.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "inbound_link",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("target_url", sa.String(length=2000), nullable=False),
        sa.Column("campaign", sa.String(length=120), nullable=False),
        sa.Column("utm_source", sa.String(length=200), nullable=True),
        sa.Column("utm_medium", sa.String(length=200), nullable=True),
        sa.Column("utm_campaign", sa.String(length=200), nullable=True),
        sa.Column("utm_term", sa.String(length=200), nullable=True),
        sa.Column("utm_content", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_link")),
        sa.UniqueConstraint("code", name=op.f("uq_inbound_link_code")),
    )
    op.create_index(op.f("ix_inbound_link_campaign"), "inbound_link", ["campaign"])
    op.create_table(
        "inbound_link_click",
        sa.Column("link_id", BIG_ID, nullable=False),
        sa.Column("clicked_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("campaign", sa.String(length=120), nullable=False),
        sa.Column("contact_id", BIG_ID, nullable=True),
        sa.Column("identified_by", sa.String(length=16), nullable=True),
        sa.Column("anonymous_id", sa.String(length=255), nullable=True),
        sa.Column("referrer", sa.String(length=1000), nullable=True),
        sa.Column("user_agent", sa.String(length=500), nullable=True),
        sa.Column("ip_prefix", sa.String(length=64), nullable=True),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["inbound_link.id"],
            name=op.f("fk_inbound_link_click_link_id_inbound_link"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_link_click")),
    )
    op.create_index(
        "ix_inbound_link_click_link_id_clicked_at", "inbound_link_click", ["link_id", "clicked_at"]
    )
    op.create_index(
        "ix_inbound_link_click_campaign_clicked_at",
        "inbound_link_click",
        ["campaign", "clicked_at"],
    )
    op.create_index("ix_inbound_link_click_contact_id", "inbound_link_click", ["contact_id"])


def downgrade() -> None:
    op.drop_table("inbound_link_click")
    op.drop_table("inbound_link")
