"""The audit log: every change made by a person or a key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db.base import Base, IdMixin
from siyu.db.types import JSONType, UTCDateTime, utcnow


class AuditEvent(IdMixin, Base):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_subject", "subject_type", "subject_id"),)

    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # "staff:3", "apikey:7", "cli", "system" — who did it.
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
