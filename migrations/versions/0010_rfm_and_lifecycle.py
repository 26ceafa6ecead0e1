"""rfm scores and stored lifecycle stages with their transitions

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-03

Lifecycle stages were worked out on every read; they are now stored on the contact, and each
change is kept in contact_lifecycle_transition. The backfill gives every existing contact its
stage at upgrade time and one transition row (from_stage NULL, reason "backfill"), the same
first row a contact created later gets. It uses the default thresholds (loyal at 4 orders, at
risk after 2 usual gaps, churned after 4 or 730 days, 90 days for one-order buyers, gaps of at
least 7 days); the first lifecycle sweep applies any other SIYU_LIFECYCLE_* settings.
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import siyu.db.types

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_NOW = {"sqlite": "strftime('%Y-%m-%d %H:%M:%f000', 'now')", "postgresql": "now()"}
_DAYS = {
    "sqlite": "(julianday('now') - julianday({column}))",
    "postgresql": "(EXTRACT(EPOCH FROM (now() - {column})) / 86400.0)",
}
_GREATEST = {"sqlite": "max", "postgresql": "greatest"}


def _stage(dialect: str) -> str:
    since = _DAYS[dialect].format(column="c.last_order_at")
    span = _DAYS[dialect].format(column="c.first_order_at") + " - " + since
    gap = (
        f"(CASE WHEN c.order_count >= 2 THEN {_GREATEST[dialect]}(({span}) / "
        "(c.order_count - 1), 7.0) ELSE 90.0 END)"
    )
    return f"""CASE
        WHEN c.order_count = 0 THEN CASE WHEN EXISTS (
            SELECT 1 FROM contact_identity i
            WHERE i.contact_id = c.id AND i.kind <> 'anonymous_id') THEN 'lead' ELSE 'visitor' END
        WHEN {since} > 730 OR {since} > 4 * {gap} THEN 'churned'
        WHEN {since} > 2 * {gap} THEN 'at_risk'
        WHEN c.order_count >= 4 THEN 'loyal'
        WHEN c.order_count >= 2 THEN 'repeat'
        ELSE 'new_customer' END"""


def upgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lifecycle_stage", sa.String(length=16), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_contact_lifecycle_stage"), ["lifecycle_stage"], unique=False
        )
    op.create_table(
        "contact_lifecycle_transition",
        sa.Column("contact_id", BIG_ID, nullable=False),
        sa.Column("from_stage", sa.String(length=16), nullable=True),
        sa.Column("to_stage", sa.String(length=16), nullable=False),
        sa.Column("changed_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_contact_lifecycle_transition_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_lifecycle_transition")),
    )
    op.create_index(
        "ix_contact_lifecycle_transition_contact_id_changed_at",
        "contact_lifecycle_transition",
        ["contact_id", "changed_at"],
    )
    op.create_index(
        "ix_contact_lifecycle_transition_to_stage_changed_at",
        "contact_lifecycle_transition",
        ["to_stage", "changed_at"],
    )
    op.create_table(
        "analytics_rfm_score",
        sa.Column("contact_id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("recency_days", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("monetary", sa.BigInteger(), nullable=False),
        sa.Column("recency_score", sa.SmallInteger(), nullable=False),
        sa.Column("frequency_score", sa.SmallInteger(), nullable=False),
        sa.Column("monetary_score", sa.SmallInteger(), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("segment", sa.String(length=32), nullable=False),
        sa.Column("computed_at", siyu.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_analytics_rfm_score_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_analytics_rfm_score")),
    )
    op.create_index(op.f("ix_analytics_rfm_score_score"), "analytics_rfm_score", ["score"])
    op.create_index(op.f("ix_analytics_rfm_score_segment"), "analytics_rfm_score", ["segment"])

    dialect = op.get_bind().dialect.name
    # An UPDATE names its table in full: SQLite takes no alias there.
    op.execute(
        "UPDATE contact SET lifecycle_stage = " + re.sub(r"\bc\.", "contact.", _stage(dialect))
    )
    op.execute(
        "INSERT INTO contact_lifecycle_transition "
        "(contact_id, from_stage, to_stage, changed_at, reason) "
        f"SELECT id, NULL, lifecycle_stage, {_NOW[dialect]}, 'backfill' FROM contact"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_analytics_rfm_score_segment"), table_name="analytics_rfm_score")
    op.drop_index(op.f("ix_analytics_rfm_score_score"), table_name="analytics_rfm_score")
    op.drop_table("analytics_rfm_score")
    op.drop_index(
        "ix_contact_lifecycle_transition_to_stage_changed_at",
        table_name="contact_lifecycle_transition",
    )
    op.drop_index(
        "ix_contact_lifecycle_transition_contact_id_changed_at",
        table_name="contact_lifecycle_transition",
    )
    op.drop_table("contact_lifecycle_transition")
    # A plain DROP COLUMN (SQLite 3.35+), not a batch copy of the table: copying it would lose
    # the name search's triggers and trip over its view (migration 0007).
    op.drop_index("ix_contact_lifecycle_stage", table_name="contact")
    op.drop_column("contact", "lifecycle_stage")
