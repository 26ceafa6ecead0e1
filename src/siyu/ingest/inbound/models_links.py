"""Trackable links (/l/{code}) and their clicks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db.base import Base, BigId, IdMixin
from siyu.db.types import UTCDateTime, utcnow


class InboundLink(IdMixin, Base):
    """A short link: /l/{code} redirects to `target_url` with the link's UTM parameters."""

    __tablename__ = "inbound_link"

    # Letters, digits, - and _; case matters, as in every URL path.
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    # Only http(s), checked when the link is made; the redirect uses nothing but this value.
    target_url: Mapped[str] = mapped_column(String(2000))
    # What the clicks are counted under; utm_campaign defaults to it.
    campaign: Mapped[str] = mapped_column(String(120), default="", index=True)
    utm_source: Mapped[str | None] = mapped_column(String(200))
    utm_medium: Mapped[str | None] = mapped_column(String(200))
    utm_campaign: Mapped[str | None] = mapped_column(String(200))
    utm_term: Mapped[str | None] = mapped_column(String(200))
    utm_content: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(64), default="system")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class InboundLinkClick(IdMixin, Base):
    """One click. `contact_id` has no foreign key, as on events: a merge deletes the absorbed
    contact and its clicks must survive (readers follow contact_alias)."""

    __tablename__ = "inbound_link_click"
    __table_args__ = (
        # A link's clicks by day and its latest clicks.
        Index("ix_inbound_link_click_link_id_clicked_at", "link_id", "clicked_at"),
        # Totals per campaign without joining links.
        Index("ix_inbound_link_click_campaign_clicked_at", "campaign", "clicked_at"),
        Index("ix_inbound_link_click_contact_id", "contact_id"),
    )

    link_id: Mapped[int] = mapped_column(BigId, ForeignKey("inbound_link.id", ondelete="CASCADE"))
    clicked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The link's campaign when it was clicked.
    campaign: Mapped[str] = mapped_column(String(120), default="")
    contact_id: Mapped[int | None] = mapped_column(BigId)
    # How the contact was known: "token" (a personalised link) or "cookie" (the tracker's ids).
    identified_by: Mapped[str | None] = mapped_column(String(16))
    # The tracker's anonymous id, kept even when no contact has it yet.
    anonymous_id: Mapped[str | None] = mapped_column(String(255))
    referrer: Mapped[str | None] = mapped_column(String(1000))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    # The address with its last part zeroed (IPv4 /24, IPv6 /48): a region, not a person.
    ip_prefix: Mapped[str | None] = mapped_column(String(64))
