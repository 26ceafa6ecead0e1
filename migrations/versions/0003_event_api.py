"""event api: sources (write keys), events, groups

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 20:11:44.032052
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import siyu.db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "event_source",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", siyu.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_source")),
        sa.UniqueConstraint("prefix", name=op.f("uq_event_source_prefix")),
    )
    op.create_table(
        "event",
        sa.Column(
            "source_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("anonymous_id", sa.String(length=255), nullable=True),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column(
            "properties",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "context",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "integrations",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("timestamp", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("original_timestamp", siyu.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", siyu.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["event_source.id"], name=op.f("fk_event_source_id_event_source")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
        sa.UniqueConstraint("source_id", "message_id", name=op.f("uq_event_source_id_message_id")),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_event_contact_id_timestamp", ["contact_id", "timestamp"], unique=False
        )

    op.create_table(
        "event_group",
        sa.Column(
            "source_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("group_key", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column(
            "traits",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["event_source.id"], name=op.f("fk_event_group_source_id_event_source")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_group")),
        sa.UniqueConstraint(
            "source_id", "group_key", name=op.f("uq_event_group_source_id_group_key")
        ),
    )
    op.create_table(
        "event_group_member",
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "contact_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("joined_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["event_group.id"],
            name=op.f("fk_event_group_member_group_id_event_group"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "contact_id", name=op.f("pk_event_group_member")),
    )
    with op.batch_alter_table("event_group_member", schema=None) as batch_op:
        batch_op.create_index("ix_event_group_member_contact_id", ["contact_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("event_group_member", schema=None) as batch_op:
        batch_op.drop_index("ix_event_group_member_contact_id")

    op.drop_table("event_group_member")
    op.drop_table("event_group")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index("ix_event_contact_id_timestamp")

    op.drop_table("event")
    op.drop_table("event_source")
