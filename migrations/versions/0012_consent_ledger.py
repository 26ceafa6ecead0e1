"""consent ledger: every change of a contact's consent, with who, how and from where

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

contact_consent keeps only the latest statement per channel; contact_consent_change keeps each
change. Consents already on record get one ledger row each (source "backfill", actor "system"),
dated when they were recorded, so no contact's history starts empty.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import siyu.db.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "contact_consent_change",
        sa.Column("contact_id", BIG_ID, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("recorded_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_contact_consent_change_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_consent_change")),
    )
    with op.batch_alter_table("contact_consent_change", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contact_consent_change_contact_id_recorded_at",
            ["contact_id", "recorded_at"],
            unique=False,
        )
    # One statement, in the database: no row passes through Python however large the pool.
    op.execute(
        "INSERT INTO contact_consent_change "
        "(contact_id, channel, granted, purpose, source, actor, ip, recorded_at, created_at) "
        "SELECT contact_id, channel, granted, purpose, 'backfill', 'system', NULL, "
        "recorded_at, recorded_at FROM contact_consent"
    )


def downgrade() -> None:
    with op.batch_alter_table("contact_consent_change", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_consent_change_contact_id_recorded_at")
    op.drop_table("contact_consent_change")
