"""customer pool

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import siyu.db.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "audit_event",
        sa.Column("occurred_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=True),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_event_subject", ["subject_type", "subject_id"], unique=False
        )

    op.create_table(
        "contact_merge",
        sa.Column(
            "survivor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "absorbed_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column(
            "evidence",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("merged_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_merge")),
    )
    with op.batch_alter_table("contact_merge", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_merge_absorbed_id"), ["absorbed_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_contact_merge_survivor_id"), ["survivor_id"], unique=False
        )

    op.create_table(
        "contact_tag",
        sa.Column("tag_group", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_tag")),
        sa.UniqueConstraint("tag_group", "name", name=op.f("uq_contact_tag_tag_group_name")),
    )
    op.create_table(
        "ingest_batch",
        sa.Column("file_name", sa.String(length=500), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("orders_created", sa.Integer(), nullable=False),
        sa.Column("orders_updated", sa.Integer(), nullable=False),
        sa.Column("contacts_created", sa.Integer(), nullable=False),
        sa.Column("contacts_updated", sa.Integer(), nullable=False),
        sa.Column("contacts_merged", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("started_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", siyu.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_batch")),
    )
    with op.batch_alter_table("ingest_batch", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ingest_batch_file_sha256"), ["file_sha256"], unique=False
        )

    op.create_table(
        "staff_user",
        sa.Column("login", sa.String(length=120), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("created_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", siyu.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_user")),
        sa.UniqueConstraint("login", name=op.f("uq_staff_user_login")),
    )
    op.create_table(
        "worker_job",
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=120), nullable=True),
        sa.Column("claimed_at", siyu.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=True),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", siyu.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_job")),
    )
    with op.batch_alter_table("worker_job", schema=None) as batch_op:
        batch_op.create_index("ix_worker_job_state_run_after", ["state", "run_after"], unique=False)

    op.create_table(
        "contact",
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("phone_hint", sa.String(length=64), nullable=True),
        sa.Column("city", sa.String(length=64), nullable=True),
        sa.Column("province", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "traits",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("order_count", sa.Integer(), nullable=False),
        sa.Column("total_spent", sa.BigInteger(), nullable=False),
        sa.Column("refunded_amount", sa.BigInteger(), nullable=False),
        sa.Column("average_order_value", sa.BigInteger(), nullable=False),
        sa.Column("first_order_at", siyu.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_order_at", siyu.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("platforms", sa.String(length=200), nullable=False),
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
            name=op.f("fk_contact_owner_id_staff_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "ingest_row_error",
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["ingest_batch.id"],
            name=op.f("fk_ingest_row_error_batch_id_ingest_batch"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_row_error")),
    )
    with op.batch_alter_table("ingest_row_error", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ingest_row_error_batch_id"), ["batch_id"], unique=False
        )

    op.create_table(
        "staff_api_key",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=64), nullable=False),
        sa.Column(
            "created_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", siyu.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", siyu.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["staff_user.id"],
            name=op.f("fk_staff_api_key_created_by_id_staff_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_api_key")),
        sa.UniqueConstraint("prefix", name=op.f("uq_staff_api_key_prefix")),
    )
    op.create_table(
        "contact_alias",
        sa.Column(
            "old_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_contact_alias_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("old_id", name=op.f("pk_contact_alias")),
    )
    with op.batch_alter_table("contact_alias", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_alias_contact_id"), ["contact_id"], unique=False
        )

    op.create_table(
        "contact_consent",
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_contact_consent_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_consent")),
        sa.UniqueConstraint(
            "contact_id", "channel", name=op.f("uq_contact_consent_contact_id_channel")
        ),
    )
    op.create_table(
        "contact_identity",
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("created_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_contact_identity_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_identity")),
        sa.UniqueConstraint("kind", "value", name=op.f("uq_contact_identity_kind_value")),
    )
    with op.batch_alter_table("contact_identity", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_identity_contact_id"), ["contact_id"], unique=False
        )

    op.create_table(
        "contact_note",
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("created_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_contact_note_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_note")),
    )
    with op.batch_alter_table("contact_note", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_note_contact_id"), ["contact_id"], unique=False
        )

    op.create_table(
        "contact_order",
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("shop", sa.String(length=120), nullable=False),
        sa.Column("platform_order_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total_amount", sa.BigInteger(), nullable=False),
        sa.Column("paid_amount", sa.BigInteger(), nullable=False),
        sa.Column("refunded_amount", sa.BigInteger(), nullable=False),
        sa.Column("shipping_fee", sa.BigInteger(), nullable=False),
        sa.Column("discount_amount", sa.BigInteger(), nullable=False),
        sa.Column("placed_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("paid_at", siyu.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", siyu.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("coupon_code", sa.String(length=64), nullable=True),
        sa.Column("receiver_name", sa.String(length=120), nullable=True),
        sa.Column("receiver_province", sa.String(length=64), nullable=True),
        sa.Column("receiver_city", sa.String(length=64), nullable=True),
        sa.Column(
            "import_batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("created_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_contact_order_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_order")),
        sa.UniqueConstraint(
            "platform",
            "platform_order_id",
            name=op.f("uq_contact_order_platform_platform_order_id"),
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("contact_order", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contact_order_contact_id_placed_at", ["contact_id", "placed_at"], unique=False
        )

    op.create_table(
        "contact_tag_link",
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("tag_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("added_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_contact_tag_link_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"],
            ["contact_tag.id"],
            name=op.f("fk_contact_tag_link_tag_id_contact_tag"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", "tag_id", name=op.f("pk_contact_tag_link")),
    )
    with op.batch_alter_table("contact_tag_link", schema=None) as batch_op:
        batch_op.create_index("ix_contact_tag_link_tag_id", ["tag_id"], unique=False)

    op.create_table(
        "contact_order_line",
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("sku", sa.String(length=120), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["contact_order.id"],
            name=op.f("fk_contact_order_line_order_id_contact_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_order_line")),
    )
    with op.batch_alter_table("contact_order_line", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_order_line_order_id"), ["order_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("contact_order_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_order_line_order_id"))

    op.drop_table("contact_order_line")
    with op.batch_alter_table("contact_tag_link", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_tag_link_tag_id")

    op.drop_table("contact_tag_link")
    with op.batch_alter_table("contact_order", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_order_contact_id_placed_at")

    op.drop_table("contact_order")
    with op.batch_alter_table("contact_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_note_contact_id"))

    op.drop_table("contact_note")
    with op.batch_alter_table("contact_identity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_identity_contact_id"))

    op.drop_table("contact_identity")
    op.drop_table("contact_consent")
    with op.batch_alter_table("contact_alias", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_alias_contact_id"))

    op.drop_table("contact_alias")
    op.drop_table("staff_api_key")
    with op.batch_alter_table("ingest_row_error", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_row_error_batch_id"))

    op.drop_table("ingest_row_error")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_owner_id"))

    op.drop_table("contact")
    with op.batch_alter_table("worker_job", schema=None) as batch_op:
        batch_op.drop_index("ix_worker_job_state_run_after")

    op.drop_table("worker_job")
    op.drop_table("staff_user")
    with op.batch_alter_table("ingest_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_batch_file_sha256"))

    op.drop_table("ingest_batch")
    op.drop_table("contact_tag")
    with op.batch_alter_table("contact_merge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_merge_survivor_id"))
        batch_op.drop_index(batch_op.f("ix_contact_merge_absorbed_id"))

    op.drop_table("contact_merge")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_subject")

    op.drop_table("audit_event")
