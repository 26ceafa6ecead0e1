"""Coupon definitions and the codes issued from them, one row a code."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db.base import Base, BigId, IdMixin, TimestampMixin
from siyu.db.types import UTCDateTime, utcnow

COUPON_KINDS = ("fixed", "percent", "free_shipping")
COUPON_STATES = ("active", "paused", "archived")
# Where an issued code came from; referrals, tasks and group-buys issue through the same door.
ISSUE_SOURCES = ("manual", "segment", "journey", "form", "referral", "task", "groupbuy")


class GrowthCouponDefinition(IdMixin, TimestampMixin, Base):
    """What a coupon gives and on what terms. Amounts in fen of `currency`."""

    __tablename__ = "growth_coupon_definition"

    # The handle operators type: coupon("SPRING").redeemed, {{ coupon("SPRING") }}.
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    code_prefix: Mapped[str] = mapped_column(String(12), default="")
    kind: Mapped[str] = mapped_column(String(16))
    amount_off: Mapped[int] = mapped_column(BigInteger, default=0)  # fixed: fen off
    percent_off: Mapped[int] = mapped_column(Integer, default=0)  # percent: 1–100
    minimum_spend: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    # Validity: between fixed dates, or `valid_days` after each issue (then within the dates).
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_days: Mapped[int | None] = mapped_column(Integer)
    limit_per_contact: Mapped[int] = mapped_column(Integer, default=1)
    stock: Mapped[int | None] = mapped_column(Integer)  # None: no limit
    # Codes handed out so far; raised only under the definition's row lock, never past stock.
    issued_count: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), default="active")
    created_by: Mapped[str] = mapped_column(String(64), default="system")


class GrowthCoupon(IdMixin, Base):
    """One code issued to one contact; redeemed at most once, by at most one order."""

    __tablename__ = "growth_coupon"
    __table_args__ = (
        # Issuing with the same source reference twice (a journey step run again) gives one code.
        UniqueConstraint("definition_id", "contact_id", "source", "source_ref"),
        Index("ix_growth_coupon_contact_id", "contact_id"),
        Index("ix_growth_coupon_expires_at", "expires_at"),
        {"sqlite_autoincrement": True},
    )

    definition_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("growth_coupon_definition.id", ondelete="CASCADE")
    )
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contact.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    source: Mapped[str] = mapped_column(String(16), default="manual")
    source_ref: Mapped[str | None] = mapped_column(String(200))
    issued_by: Mapped[str] = mapped_column(String(64), default="system")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set by the hourly sweep; a code past expires_at is expired even before the sweep.
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    order_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("contact_order.id", ondelete="SET NULL"), unique=True
    )
    order_ref: Mapped[str | None] = mapped_column(String(64))
    order_amount: Mapped[int | None] = mapped_column(BigInteger)
