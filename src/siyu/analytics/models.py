"""Stored analytics: figures too costly to work out on every read, refreshed by jobs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db.base import Base, BigId, IdMixin, TimestampMixin
from siyu.db.types import UTCDateTime

# Named RFM segments, in the order their rules are tried (first match wins); see analytics.rfm.
RFM_SEGMENTS = (
    "champions",
    "potential_loyalist",
    "loyal_customers",
    "promising",
    "new_customers",
    "cant_lose_them",
    "at_risk",
    "need_attention",
    "about_to_sleep",
    "lost",
    "others",
)


class RfmScore(Base):
    """One buyer's recency, frequency and monetary scores over the RFM window."""

    __tablename__ = "analytics_rfm_score"

    contact_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    recency_days: Mapped[int] = mapped_column(Integer)
    # Purchase orders in the window, and what they brought: paid minus refunded, in fen.
    frequency: Mapped[int] = mapped_column(Integer)
    monetary: Mapped[int] = mapped_column(BigInteger)
    recency_score: Mapped[int] = mapped_column(SmallInteger)
    frequency_score: Mapped[int] = mapped_column(SmallInteger)
    monetary_score: Mapped[int] = mapped_column(SmallInteger)
    # 100 R + 10 F + M, e.g. 535.
    score: Mapped[int] = mapped_column(SmallInteger, index=True)
    segment: Mapped[str] = mapped_column(String(32), index=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MarketingSpend(IdMixin, TimestampMixin, Base):
    """What the merchant spent on one channel in one month, entered by hand or from a CSV.

    `channel` names where the money went, in the words reports use for where customers came
    from: a contact source (`taobao`, `douyin`, `form` …), a channel code (`code:SPRING`), or
    the cost of a campaign or journey beyond its messages (`campaign:12`, `journey:3`).
    Entering the same month and channel again replaces the amount.
    """

    __tablename__ = "analytics_marketing_spend"
    __table_args__ = (UniqueConstraint("month", "channel"),)

    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM, in the merchant's zone
    channel: Mapped[str] = mapped_column(String(64), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # fen
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(String(64), default="system")
