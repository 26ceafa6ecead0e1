"""inbound: forms, landing pages, submissions, channel codes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 21:05:18.518101
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import siyu.db.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_form",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column(
            "fields",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("consent_channel", sa.String(length=16), nullable=True),
        sa.Column("consent_purpose", sa.String(length=200), nullable=False),
        sa.Column("consent_required", sa.Boolean(), nullable=False),
        sa.Column("success_message", sa.String(length=500), nullable=False),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("created_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_form")),
    )
    op.create_table(
        "inbound_page",
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body_markdown", sa.Text(), nullable=False),
        sa.Column("image_name", sa.String(length=120), nullable=True),
        sa.Column("form_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("created_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["form_id"],
            ["inbound_form.id"],
            name=op.f("fk_inbound_page_form_id_inbound_form"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_page")),
        sa.UniqueConstraint("slug", name=op.f("uq_inbound_page_slug")),
    )
    op.create_table(
        "channel_code",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("page_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("target_url", sa.String(length=2000), nullable=True),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("created_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["staff_user.id"],
            name=op.f("fk_channel_code_owner_id_staff_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["page_id"],
            ["inbound_page.id"],
            name=op.f("fk_channel_code_page_id_inbound_page"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_code")),
        sa.UniqueConstraint("code", name=op.f("uq_channel_code_code")),
    )
    op.create_table(
        "channel_code_scan",
        sa.Column("code_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.Column("scanned_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["code_id"],
            ["channel_code.id"],
            name=op.f("fk_channel_code_scan_code_id_channel_code"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_code_scan")),
    )
    op.create_index(
        "ix_channel_code_scan_code_id_scanned_at", "channel_code_scan", ["code_id", "scanned_at"]
    )
    op.create_table(
        "inbound_submission",
        sa.Column("form_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("page_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "channel_code_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("consent_given", sa.Boolean(), nullable=False),
        sa.Column("utm_source", sa.String(length=200), nullable=True),
        sa.Column("utm_medium", sa.String(length=200), nullable=True),
        sa.Column("utm_campaign", sa.String(length=200), nullable=True),
        sa.Column("utm_term", sa.String(length=200), nullable=True),
        sa.Column("utm_content", sa.String(length=200), nullable=True),
        sa.Column("referrer", sa.String(length=500), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.Column("submitted_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["channel_code_id"],
            ["channel_code.id"],
            name=op.f("fk_inbound_submission_channel_code_id_channel_code"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["form_id"],
            ["inbound_form.id"],
            name=op.f("fk_inbound_submission_form_id_inbound_form"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["page_id"],
            ["inbound_page.id"],
            name=op.f("fk_inbound_submission_page_id_inbound_page"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_submission")),
    )
    op.create_index(
        op.f("ix_inbound_submission_channel_code_id"), "inbound_submission", ["channel_code_id"]
    )
    op.create_index(
        "ix_inbound_submission_form_id_ip_submitted_at",
        "inbound_submission",
        ["form_id", "ip", "submitted_at"],
    )
    op.create_index(
        "ix_inbound_submission_form_id_submitted_at",
        "inbound_submission",
        ["form_id", "submitted_at"],
    )


def downgrade() -> None:
    op.drop_table("inbound_submission")
    op.drop_table("channel_code_scan")
    op.drop_table("channel_code")
    op.drop_table("inbound_page")
    op.drop_table("inbound_form")
