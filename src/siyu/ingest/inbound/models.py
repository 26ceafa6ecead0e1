"""Forms, landing pages, their submissions, and channel QR codes with their scans."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db.base import Base, BigId, IdMixin, TimestampMixin
from siyu.db.types import JSONType, UTCDateTime, utcnow

# Built-in fields a form may ask for; each maps onto an identity or the contact's profile.
STANDARD_FIELDS = ("name", "phone", "email", "wechat_id")
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


class InboundForm(IdMixin, TimestampMixin, Base):
    """A sign-up form: which fields it asks for and the consent it collects."""

    __tablename__ = "inbound_form"

    name: Mapped[str] = mapped_column(String(120))
    # [{"key", "label", "kind": standard field or "text", "required": bool}], in display order.
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    # The channel a ticked consent box grants (contact_consent.channel), and what it is for.
    consent_channel: Mapped[str | None] = mapped_column(String(16))
    consent_purpose: Mapped[str] = mapped_column(String(200), default="")
    consent_required: Mapped[bool] = mapped_column(Boolean, default=False)
    success_message: Mapped[str] = mapped_column(String(500), default="")
    # Tags every contact signing up through this form gets, as "group:name" labels.
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_by: Mapped[str] = mapped_column(String(64), default="system")


class InboundPage(IdMixin, TimestampMixin, Base):
    """A landing page served publicly at /p/{slug}."""

    __tablename__ = "inbound_page"

    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body_markdown: Mapped[str] = mapped_column(Text, default="")
    # File name inside the upload directory's inbound/ folder.
    image_name: Mapped[str | None] = mapped_column(String(120))
    form_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("inbound_form.id", ondelete="SET NULL")
    )
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64), default="system")


class InboundSubmission(IdMixin, Base):
    """One accepted form submission, as the visitor sent it.

    `contact_id` has no foreign key, like events: a merge deletes the absorbed contact and the
    submission must survive; readers follow contact_alias.
    """

    __tablename__ = "inbound_submission"
    __table_args__ = (
        Index("ix_inbound_submission_form_id_submitted_at", "form_id", "submitted_at"),
        # The per-IP rate limit counts recent submissions of one address to one form.
        Index("ix_inbound_submission_form_id_ip_submitted_at", "form_id", "ip", "submitted_at"),
    )

    form_id: Mapped[int] = mapped_column(BigId, ForeignKey("inbound_form.id", ondelete="CASCADE"))
    page_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("inbound_page.id", ondelete="SET NULL")
    )
    channel_code_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("channel_code.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(BigId)
    # Field key → the value as typed (trimmed).
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    consent_given: Mapped[bool] = mapped_column(Boolean, default=False)
    utm_source: Mapped[str | None] = mapped_column(String(200))
    utm_medium: Mapped[str | None] = mapped_column(String(200))
    utm_campaign: Mapped[str | None] = mapped_column(String(200))
    utm_term: Mapped[str | None] = mapped_column(String(200))
    utm_content: Mapped[str | None] = mapped_column(String(200))
    referrer: Mapped[str | None] = mapped_column(String(500))
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ChannelCode(IdMixin, TimestampMixin, Base):
    """渠道活码: one QR code per acquisition source, scanned through /c/{code}."""

    __tablename__ = "channel_code"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    # Where a scan lands: a landing page, or any URL when no page is set.
    page_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("inbound_page.id", ondelete="SET NULL")
    )
    target_url: Mapped[str | None] = mapped_column(String(2000))
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    owner_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    created_by: Mapped[str] = mapped_column(String(64), default="system")


class ChannelCodeScan(IdMixin, Base):
    """One scan (a visit to /c/{code})."""

    __tablename__ = "channel_code_scan"
    __table_args__ = (Index("ix_channel_code_scan_code_id_scanned_at", "code_id", "scanned_at"),)

    code_id: Mapped[int] = mapped_column(BigId, ForeignKey("channel_code.id", ondelete="CASCADE"))
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
