"""segments: definitions, current members, membership history, contacts waiting to be re-evaluated;
an index for the scheduler of periodic jobs

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import siyu.db.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TIME = siyu.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "segment",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("definition", JSON, nullable=True),
        sa.Column("query", sa.Text(), nullable=True),
        sa.Column("clock_dependent", sa.Boolean(), nullable=False),
        sa.Column("tag_id", BIG_ID, nullable=True),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", TIME, nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["tag_id"],
            ["contact_tag.id"],
            name=op.f("fk_segment_tag_id_contact_tag"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment")),
        sa.UniqueConstraint("name", name=op.f("uq_segment_name")),
    )
    op.create_table(
        "segment_member",
        sa.Column("segment_id", BIG_ID, nullable=False),
        sa.Column("contact_id", BIG_ID, nullable=False),
        sa.Column("entered_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_segment_member_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segment.id"],
            name=op.f("fk_segment_member_segment_id_segment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("segment_id", "contact_id", name=op.f("pk_segment_member")),
    )
    op.create_index("ix_segment_member_contact_id", "segment_member", ["contact_id"])
    op.create_table(
        "segment_membership",
        sa.Column("segment_id", BIG_ID, nullable=False),
        sa.Column("contact_id", BIG_ID, nullable=False),
        sa.Column("entered_at", TIME, nullable=False),
        sa.Column("exited_at", TIME, nullable=True),
        sa.Column("exit_reason", sa.String(length=32), nullable=True),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segment.id"],
            name=op.f("fk_segment_membership_segment_id_segment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_membership")),
    )
    op.create_index("ix_segment_membership_contact_id", "segment_membership", ["contact_id"])
    op.create_index(
        "ix_segment_membership_segment_id_entered_at",
        "segment_membership",
        ["segment_id", "entered_at"],
    )
    op.create_table(
        "segment_pending_contact",
        sa.Column("contact_id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("changed_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_segment_pending_contact")),
    )
    op.create_index("ix_worker_job_kind_created_at", "worker_job", ["kind", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_worker_job_kind_created_at", table_name="worker_job")
    op.drop_table("segment_pending_contact")
    op.drop_index("ix_segment_membership_segment_id_entered_at", table_name="segment_membership")
    op.drop_index("ix_segment_membership_contact_id", table_name="segment_membership")
    op.drop_table("segment_membership")
    op.drop_index("ix_segment_member_contact_id", table_name="segment_member")
    op.drop_table("segment_member")
    op.drop_table("segment")
