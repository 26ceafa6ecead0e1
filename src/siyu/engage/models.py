"""Channels, message content, campaigns, messages, clicks and the suppression list.

A message row is created once per (campaign or journey step, contact) — its `key` is unique —
and moves through states:

    queued ─► sending ─► sent            the provider accepted it
       │         │   └─► failed          the provider refused it (reason kept)
       │         └─────► unknown         a worker died while sending: not resent unless asked
       ├─► delayed (quiet hours; send_after moves) ─► queued again
       └─► suppressed                    a rule stopped it (rule and reason kept)

`cancelled` ends messages of a cancelled campaign that were never sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db.base import Base, BigId, IdMixin, TimestampMixin
from siyu.db.types import JSONType, UTCDateTime, utcnow

MESSAGE_CATEGORIES = ("marketing", "transactional")
MESSAGE_STATES = (
    "queued",
    "delayed",
    "sending",
    "sent",
    "failed",
    "suppressed",
    "unknown",
    "cancelled",
)
# States that count against a frequency cap: the message left, or may have.
CAPPED_STATES = ("sending", "sent", "unknown")
CAMPAIGN_STATES = ("draft", "scheduled", "running", "paused", "cancelled", "done")


class EngageChannel(IdMixin, TimestampMixin, Base):
    """A configured channel: an SMTP account, an SMS signature, a WeCom corp, a webhook."""

    __tablename__ = "engage_channel"

    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64), default="system")


class EngageContent(IdMixin, TimestampMixin, Base):
    """What one message says: a campaign's A/B variant or a journey's send step.

    `subject` and `body` are Jinja2 templates rendered per contact in the sandbox; for
    provider-approved templates (SMS, OA) `template_code` names it and `params` maps each of its
    parameters to a template of its own.
    """

    __tablename__ = "engage_content"

    campaign_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("engage_campaign.id", ondelete="CASCADE"), index=True
    )
    journey_id: Mapped[int | None] = mapped_column(BigId, index=True)
    step: Mapped[str | None] = mapped_column(String(64))  # the journey step's id
    name: Mapped[str] = mapped_column(String(64), default="A")
    percent: Mapped[int] = mapped_column(Integer, default=100)
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text, default="")
    template_code: Mapped[str | None] = mapped_column(String(120))
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Values used when a contact lacks a variable the template reads (checked before sending).
    defaults: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class EngageCampaign(IdMixin, TimestampMixin, Base):
    __tablename__ = "engage_campaign"

    name: Mapped[str] = mapped_column(String(200))
    channel_id: Mapped[int] = mapped_column(BigId, ForeignKey("engage_channel.id"))
    category: Mapped[str] = mapped_column(String(16), default="marketing")
    # Who receives it: a stored segment, or a segment-language query kept with the campaign.
    segment_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("segment.id", ondelete="SET NULL")
    )
    query: Mapped[str | None] = mapped_column(Text)
    definition: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    state: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    throttle_per_second: Mapped[int | None] = mapped_column(Integer)
    # Throttling across workers: the time by which the messages claimed so far may be sent.
    throttle_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    conversion_days: Mapped[int] = mapped_column(Integer, default=7)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64), default="system")


class EngageMessage(IdMixin, Base):
    __tablename__ = "engage_message"
    __table_args__ = (
        UniqueConstraint("key"),
        # The dispatcher's claim: the oldest sendable messages.
        Index("ix_engage_message_state_send_after", "state", "send_after"),
        # Frequency caps: a contact's recent messages.
        Index("ix_engage_message_contact_id_sent_at", "contact_id", "sent_at"),
        # Claims per campaign and the campaign's counts by state.
        Index("ix_engage_message_campaign_id_state", "campaign_id", "state", "send_after"),
        Index("ix_engage_message_journey_id", "journey_id"),
    )

    # "campaign:{id}:{contact}", "journey:{id}:{step}:{contact}:{run}", "test:{id}:{staff}":
    # a retry, a restart or a second worker can never create a second message.
    key: Mapped[str] = mapped_column(String(160))
    campaign_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("engage_campaign.id", ondelete="CASCADE")
    )
    journey_id: Mapped[int | None] = mapped_column(BigId)
    content_id: Mapped[int] = mapped_column(BigId, ForeignKey("engage_content.id"))
    channel_id: Mapped[int] = mapped_column(BigId, ForeignKey("engage_channel.id"))
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contact.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(16), default="marketing")
    state: Mapped[str] = mapped_column(String(16), default="queued")
    address: Mapped[str | None] = mapped_column(String(255))
    send_after: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A suppressed message's rule ("no_consent", "frequency_cap:email", "suppressed_address").
    rule: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)  # the provider's reason, or the rule's
    provider_id: Mapped[str | None] = mapped_column(String(200))
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    clicks: Mapped[int] = mapped_column(Integer, default=0)


class EngageClick(IdMixin, Base):
    """One click on a trackable link in a message."""

    __tablename__ = "engage_click"

    message_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("engage_message.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(String(64))  # truncated, as link clicks are
    clicked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EngageSuppression(IdMixin, Base):
    """An address nothing is sent to: a hard bounce, a complaint, an operator's entry."""

    __tablename__ = "engage_suppression"
    __table_args__ = (UniqueConstraint("address_kind", "address"),)

    address_kind: Mapped[str] = mapped_column(String(32))  # email, phone, ...
    address: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
