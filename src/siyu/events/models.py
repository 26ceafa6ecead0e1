"""Event sources (write keys), the events they send, and group membership."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db.base import Base, BigId, IdMixin
from siyu.db.types import JSONType, UTCDateTime, utcnow

EVENT_TYPES = ("identify", "track", "page", "screen", "group", "alias")


class EventSource(IdMixin, Base):
    """A site or app that sends events, with its write key (only the key's hash is kept)."""

    __tablename__ = "event_source"

    name: Mapped[str] = mapped_column(String(120))
    # The first characters of the write key: found by index, shown in lists.
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    # SHA-256 of the whole key: keys are long random strings, so a slow hash buys nothing.
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64), default="system")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Event(IdMixin, Base):
    """One identify, track, page, screen, group or alias call, as received.

    `contact_id` has no foreign key on purpose: a merge deletes the absorbed contact, and its
    events must survive; readers follow contact_alias from the absorbed id to the survivor.
    """

    __tablename__ = "event"
    __table_args__ = (
        # Clients retry, so the same message arrives more than once: one row per source.
        UniqueConstraint("source_id", "message_id"),
        # The 360 timeline: a contact's events, newest first.
        Index("ix_event_contact_id_timestamp", "contact_id", "timestamp"),
    )

    source_id: Mapped[int] = mapped_column(BigId, ForeignKey("event_source.id"))
    contact_id: Mapped[int | None] = mapped_column(BigId)
    type: Mapped[str] = mapped_column(String(16))
    # track: the event; page and screen: the page's name; group: the group id.
    name: Mapped[str | None] = mapped_column(String(200))
    message_id: Mapped[str] = mapped_column(String(255))
    anonymous_id: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    # track, page, screen: properties; identify and group: traits; alias: previousId.
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    context: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    integrations: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # When it happened, corrected for the sender's clock (see service.event_time).
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())
    # The sender's own clock: the time it gave the event and the time it sent the request.
    original_timestamp: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EventGroup(IdMixin, Base):
    """A company or community a source's users belong to (the `group` call), per source."""

    __tablename__ = "event_group"
    __table_args__ = (UniqueConstraint("source_id", "group_key"),)

    source_id: Mapped[int] = mapped_column(BigId, ForeignKey("event_source.id"))
    # The sender's groupId.
    group_key: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(200))
    traits: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EventGroupMember(Base):
    """A contact in a group; like events, kept through merges and read through contact_alias."""

    __tablename__ = "event_group_member"
    __table_args__ = (Index("ix_event_group_member_contact_id", "contact_id"),)

    group_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("event_group.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
