"""reach: channels, message content, campaigns, messages, clicks, suppressions, worker heartbeats

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import siyu.db.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "engage_channel",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("config", siyu.db.types.JSONType, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("created_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engage_channel")),
        sa.UniqueConstraint("name", name=op.f("uq_engage_channel_name")),
    )
    op.create_table(
        "engage_suppression",
        sa.Column("address_kind", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("created_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engage_suppression")),
        sa.UniqueConstraint(
            "address_kind", "address", name=op.f("uq_engage_suppression_address_kind_address")
        ),
    )
    op.create_table(
        "worker_process",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("started_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("beat_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_process")),
    )
    op.create_table(
        "engage_campaign",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel_id", BIG_ID, nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("segment_id", BIG_ID, nullable=True),
        sa.Column("query", sa.Text(), nullable=True),
        sa.Column("definition", siyu.db.types.JSONType, nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("scheduled_at", siyu.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("throttle_per_second", sa.Integer(), nullable=True),
        sa.Column("throttle_until", siyu.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("conversion_days", sa.Integer(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("started_at", siyu.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", siyu.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("created_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["engage_channel.id"],
            name=op.f("fk_engage_campaign_channel_id_engage_channel"),
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segment.id"],
            name=op.f("fk_engage_campaign_segment_id_segment"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engage_campaign")),
    )
    with op.batch_alter_table("engage_campaign", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_engage_campaign_state"), ["state"], unique=False)

    op.create_table(
        "engage_content",
        sa.Column("campaign_id", BIG_ID, nullable=True),
        sa.Column("journey_id", BIG_ID, nullable=True),
        sa.Column("step", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("template_code", sa.String(length=120), nullable=True),
        sa.Column("params", siyu.db.types.JSONType, nullable=False),
        sa.Column("defaults", siyu.db.types.JSONType, nullable=False),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("created_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["engage_campaign.id"],
            name=op.f("fk_engage_content_campaign_id_engage_campaign"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engage_content")),
    )
    with op.batch_alter_table("engage_content", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_engage_content_campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_engage_content_journey_id"), ["journey_id"], unique=False
        )

    op.create_table(
        "engage_message",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("campaign_id", BIG_ID, nullable=True),
        sa.Column("journey_id", BIG_ID, nullable=True),
        sa.Column("content_id", BIG_ID, nullable=False),
        sa.Column("channel_id", BIG_ID, nullable=False),
        sa.Column("contact_id", BIG_ID, nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=True),
        sa.Column("send_after", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("provider_id", sa.String(length=200), nullable=True),
        sa.Column("claimed_by", sa.String(length=120), nullable=True),
        sa.Column("created_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", siyu.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_clicked_at", siyu.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["engage_campaign.id"],
            name=op.f("fk_engage_message_campaign_id_engage_campaign"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["engage_channel.id"],
            name=op.f("fk_engage_message_channel_id_engage_channel"),
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_engage_message_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["engage_content.id"],
            name=op.f("fk_engage_message_content_id_engage_content"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engage_message")),
        sa.UniqueConstraint("key", name=op.f("uq_engage_message_key")),
    )
    with op.batch_alter_table("engage_message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_engage_message_campaign_id_state",
            ["campaign_id", "state", "send_after"],
            unique=False,
        )
        batch_op.create_index(
            "ix_engage_message_contact_id_sent_at", ["contact_id", "sent_at"], unique=False
        )
        batch_op.create_index("ix_engage_message_journey_id", ["journey_id"], unique=False)
        batch_op.create_index(
            "ix_engage_message_state_send_after", ["state", "send_after"], unique=False
        )

    op.create_table(
        "engage_click",
        sa.Column("message_id", BIG_ID, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("clicked_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["engage_message.id"],
            name=op.f("fk_engage_click_message_id_engage_message"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engage_click")),
    )
    with op.batch_alter_table("engage_click", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_engage_click_message_id"), ["message_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("engage_click", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_engage_click_message_id"))

    op.drop_table("engage_click")
    with op.batch_alter_table("engage_message", schema=None) as batch_op:
        batch_op.drop_index("ix_engage_message_state_send_after")
        batch_op.drop_index("ix_engage_message_journey_id")
        batch_op.drop_index("ix_engage_message_contact_id_sent_at")
        batch_op.drop_index("ix_engage_message_campaign_id_state")

    op.drop_table("engage_message")
    with op.batch_alter_table("engage_content", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_engage_content_journey_id"))
        batch_op.drop_index(batch_op.f("ix_engage_content_campaign_id"))

    op.drop_table("engage_content")
    with op.batch_alter_table("engage_campaign", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_engage_campaign_state"))

    op.drop_table("engage_campaign")
    op.drop_table("worker_process")
    op.drop_table("engage_suppression")
    op.drop_table("engage_channel")
