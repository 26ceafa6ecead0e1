"""The pool: contacts, their identities, merges, tags, notes, consent and shop orders."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db.base import Base, BigId, IdMixin, TimestampMixin
from siyu.db.types import JSONType, UTCDateTime, utcnow

# Identity kinds that recognise one person across shops. `receiver` is the weak key for shops
# that hide the buyer (Douyin, Pinduoduo, Kuaishou, WeChat Shop): its value starts with the
# platform, so it can never link people across platforms.
IDENTITY_KINDS = (
    "phone",
    "email",
    "wechat_unionid",
    "wechat_openid",
    "wecom_external_userid",
    "taobao_nick",
    "jd_pin",
    "douyin_buyer_id",
    "pdd_buyer_id",
    "youzan_buyer_id",
    "kuaishou_buyer_id",
    "external_id",
    "anonymous_id",
    "receiver",
)
CONSENT_CHANNELS = ("email", "sms", "wecom", "wechat_oa")
TAG_SOURCES = ("manual", "import", "rule")
ORDER_STATUSES = ("pending", "paid", "shipped", "completed", "cancelled", "refunded")
# Orders that count as a purchase in rollups: the buyer paid, whatever happened afterwards.
PURCHASE_STATUSES = ("paid", "shipped", "completed", "refunded")
# Lifecycle stages (lead to deal), kept current by contacts.lifecycle.
LIFECYCLE_STAGES = ("visitor", "lead", "new_customer", "repeat", "loyal", "at_risk", "churned")
BUYER_STAGES = ("new_customer", "repeat", "loyal", "at_risk", "churned")


class Contact(IdMixin, TimestampMixin, Base):
    __tablename__ = "contact"
    __table_args__ = (
        # The customer list's sorts, newest first, ties broken by id: each page is an index
        # range, not a sort of the whole pool. PostgreSQL needs the NULLs (no order yet) last.
        Index("ix_contact_order_count", "order_count", "id"),
        Index("ix_contact_total_spent", "total_spent", "id"),
        Index(
            "ix_contact_last_order_at",
            "last_order_at",
            "id",
            postgresql_ops={"last_order_at": "DESC NULLS LAST", "id": "DESC"},
        ),
        # Ids are never reused on SQLite either: an absorbed contact's id must keep resolving.
        {"sqlite_autoincrement": True},
    )

    name: Mapped[str | None] = mapped_column(String(200))
    # A masked or virtual phone (138****1234) kept only to show; never used to link people.
    phone_hint: Mapped[str | None] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(64))
    province: Mapped[str | None] = mapped_column(String(64))
    # Where the contact first came from: taobao, jd, api, demo, contact_csv, …
    source: Mapped[str] = mapped_column(String(32), default="")
    owner_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("staff_user.id", ondelete="SET NULL"), index=True
    )
    traits: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    # Rollups, recomputed in SQL by contacts.rollups whenever orders change.
    order_count: Mapped[int] = mapped_column(Integer, default=0)
    total_spent: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    average_order_value: Mapped[int] = mapped_column(BigInteger, default=0)
    first_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Sorted, comma-separated platform names, e.g. "jd,taobao".
    platforms: Mapped[str] = mapped_column(String(200), default="")
    # One of LIFECYCLE_STAGES; NULL only until the write that created the contact ends.
    lifecycle_stage: Mapped[str | None] = mapped_column(String(16), index=True)


class ContactLifecycleTransition(IdMixin, Base):
    """History: each change of a contact's lifecycle stage, and when Siyu saw it happen.

    `from_stage` is NULL on the first row of a contact: the stage it entered the pool at.
    """

    __tablename__ = "contact_lifecycle_transition"
    __table_args__ = (
        Index("ix_contact_lifecycle_transition_contact_id_changed_at", "contact_id", "changed_at"),
        Index("ix_contact_lifecycle_transition_to_stage_changed_at", "to_stage", "changed_at"),
    )

    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contact.id", ondelete="CASCADE"))
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # What moved it: identity, orders, sweep, backfill.
    reason: Mapped[str] = mapped_column(String(32), default="")


class ContactIdentity(IdMixin, Base):
    __tablename__ = "contact_identity"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    contact_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ContactAlias(Base):
    """An absorbed contact's id, kept resolving to the contact that absorbed it."""

    __tablename__ = "contact_alias"

    old_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    contact_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )


class ContactMerge(IdMixin, Base):
    """History: which contact absorbed which, why, and on what evidence."""

    __tablename__ = "contact_merge"

    survivor_id: Mapped[int] = mapped_column(BigId, index=True)
    absorbed_id: Mapped[int] = mapped_column(BigId, index=True)
    reason: Mapped[str] = mapped_column(String(200))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    actor: Mapped[str] = mapped_column(String(64), default="system")
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Tag(IdMixin, Base):
    __tablename__ = "contact_tag"
    __table_args__ = (UniqueConstraint("tag_group", "name"),)

    # Tags are grouped, e.g. 兴趣 (interest) or 人群 (audience); "" is the default group.
    tag_group: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ContactTagLink(Base):
    __tablename__ = "contact_tag_link"
    __table_args__ = (Index("ix_contact_tag_link_tag_id", "tag_id"),)

    contact_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contact_tag.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(16), default="manual")
    added_by: Mapped[str] = mapped_column(String(64), default="system")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ContactNote(IdMixin, Base):
    """A staff note (备注)."""

    __tablename__ = "contact_note"

    contact_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ContactConsent(IdMixin, Base):
    """The latest consent a contact gave or withdrew on one channel."""

    __tablename__ = "contact_consent"
    __table_args__ = (UniqueConstraint("contact_id", "channel"),)

    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contact.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(64), default="")
    purpose: Mapped[str] = mapped_column(String(200), default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ContactConsentChange(IdMixin, Base):
    """The ledger: every change of a contact's consent, who made it, from where and how.

    Rows are only ever added, so the ledger can prove what a contact agreed to at any time, long
    after contact_consent moved on. A statement that changes nothing writes no row.
    """

    __tablename__ = "contact_consent_change"
    __table_args__ = (
        Index("ix_contact_consent_change_contact_id_recorded_at", "contact_id", "recorded_at"),
    )

    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contact.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    granted: Mapped[bool] = mapped_column(Boolean)
    purpose: Mapped[str] = mapped_column(String(200), default="")
    # The path it came by: console, form, import, api, cli, unsubscribe, sms_reply.
    source: Mapped[str] = mapped_column(String(64), default="")
    # A staff member ("staff:li.na"), an API key ("apikey:3"), "cli", a form ("form:7"), "system".
    actor: Mapped[str] = mapped_column(String(64), default="system")
    # Truncated as link clicks are (kit.network.truncate_ip): a region, not a household.
    ip: Mapped[str | None] = mapped_column(String(64))
    # When the contact made the statement (an import may carry an older time) and when Siyu
    # wrote it down.
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ContactOrder(IdMixin, TimestampMixin, Base):
    """One order from one shop. Amounts in fen of `currency`."""

    __tablename__ = "contact_order"
    __table_args__ = (
        UniqueConstraint("platform", "platform_order_id"),
        Index("ix_contact_order_contact_id_placed_at", "contact_id", "placed_at"),
        {"sqlite_autoincrement": True},
    )

    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contact.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(32))
    shop: Mapped[str] = mapped_column(String(120), default="")
    platform_order_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    total_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    shipping_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    coupon_code: Mapped[str | None] = mapped_column(String(64))
    receiver_name: Mapped[str | None] = mapped_column(String(120))
    receiver_province: Mapped[str | None] = mapped_column(String(64))
    receiver_city: Mapped[str | None] = mapped_column(String(64))
    import_batch_id: Mapped[int | None] = mapped_column(BigId)


class ContactOrderLine(IdMixin, Base):
    __tablename__ = "contact_order_line"

    order_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contact_order.id", ondelete="CASCADE"), index=True
    )
    line_no: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(String(500), default="")
    sku: Mapped[str | None] = mapped_column(String(120))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_price: Mapped[int | None] = mapped_column(BigInteger)
    amount: Mapped[int | None] = mapped_column(BigInteger)
