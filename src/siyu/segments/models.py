"""Segments, who is in them now, who was in them when, and which contacts wait to be looked at."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db.base import Base, BigId, IdMixin, TimestampMixin
from siyu.db.types import JSONType, UTCDateTime, utcnow

SEGMENT_KINDS = ("dynamic", "static")


class Segment(IdMixin, TimestampMixin, Base):
    """A slice of the pool: a definition kept current (dynamic), or a fixed list (static)."""

    __tablename__ = "segment"

    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16), default="dynamic")
    # The checked JSON form (segments.language) and its canonical text; None for a static list.
    definition: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    query: Mapped[str | None] = mapped_column(Text)
    # Whether membership can change with the clock alone (within 90d, 30d ago): the sweep
    # refreshes only these.
    clock_dependent: Mapped[bool] = mapped_column(Boolean, default=False)
    # Auto-tagging: members carry this tag (source "rule") while they are in.
    tag_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("contact_tag.id", ondelete="SET NULL")
    )
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64), default="system")


class SegmentMember(Base):
    """A contact in a segment now."""

    __tablename__ = "segment_member"
    __table_args__ = (Index("ix_segment_member_contact_id", "contact_id"),)

    segment_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("segment.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True
    )
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SegmentMembership(IdMixin, Base):
    """History: one row per stay of a contact in a segment (who was in when).

    No foreign key to contact: a merge deletes the absorbed contact, and its history stays.
    """

    __tablename__ = "segment_membership"
    __table_args__ = (
        Index("ix_segment_membership_segment_id_entered_at", "segment_id", "entered_at"),
        Index("ix_segment_membership_contact_id", "contact_id"),
    )

    segment_id: Mapped[int] = mapped_column(BigId, ForeignKey("segment.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigId)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    exited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why the stay ended: left (no longer matches), merged, removed (from a static list),
    # segment_changed (its definition was edited).
    exit_reason: Mapped[str | None] = mapped_column(String(32))


class SegmentPendingContact(Base):
    """A contact whose data changed and whose memberships the worker has yet to re-evaluate.

    Written in the same transaction as the change (an outbox), so no change is missed; one row
    per contact however often it changes before the worker gets to it. No foreign key: the
    contact may be merged away before it is looked at.
    """

    __tablename__ = "segment_pending_contact"

    contact_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
