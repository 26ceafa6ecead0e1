"""reach: journeys, their enrolments, step logs and the trigger readers' cursors

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import siyu.db.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = siyu.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "engage_journey",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("definition", siyu.db.types.JSONType, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("activated_at", TIME, nullable=True),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engage_journey")),
        sa.UniqueConstraint("name", name=op.f("uq_engage_journey_name")),
    )
    op.create_index(op.f("ix_engage_journey_state"), "engage_journey", ["state"])
    op.create_table(
        "engage_journey_enrolment",
        sa.Column("journey_id", BIG_ID, nullable=False),
        sa.Column("contact_id", BIG_ID, nullable=False),
        sa.Column("run", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=True),
        sa.Column("wake_at", TIME, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("entered_at", TIME, nullable=False),
        sa.Column("finished_at", TIME, nullable=True),
        sa.Column("exit_reason", sa.Text(), nullable=True),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["engage_journey.id"],
            name=op.f("fk_engage_journey_enrolment_journey_id_engage_journey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_engage_journey_enrolment_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engage_journey_enrolment")),
        sa.UniqueConstraint(
            "journey_id",
            "contact_id",
            "run",
            name=op.f("uq_engage_journey_enrolment_journey_id_contact_id_run"),
        ),
    )
    op.create_index(
        "ix_engage_journey_enrolment_state_wake_at",
        "engage_journey_enrolment",
        ["state", "wake_at"],
    )
    op.create_index(
        "ix_engage_journey_enrolment_journey_id_state",
        "engage_journey_enrolment",
        ["journey_id", "state"],
    )
    op.create_index(
        "ix_engage_journey_enrolment_contact_id", "engage_journey_enrolment", ["contact_id"]
    )
    op.create_table(
        "engage_journey_step_log",
        sa.Column("enrolment_id", BIG_ID, nullable=False),
        sa.Column("journey_id", BIG_ID, nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engage_journey_step_log")),
    )
    op.create_index(
        "ix_engage_journey_step_log_journey_id_step",
        "engage_journey_step_log",
        ["journey_id", "step"],
    )
    op.create_index(
        "ix_engage_journey_step_log_enrolment_id", "engage_journey_step_log", ["enrolment_id"]
    )
    op.create_table(
        "engage_journey_cursor",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_engage_journey_cursor")),
    )


def downgrade() -> None:
    op.drop_table("engage_journey_cursor")
    op.drop_table("engage_journey_step_log")
    op.drop_table("engage_journey_enrolment")
    op.drop_index(op.f("ix_engage_journey_state"), table_name="engage_journey")
    op.drop_table("engage_journey")
