"""Consent per channel: the latest statement wins; older ones never overwrite newer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.contacts.models import CONSENT_CHANNELS, ContactConsent
from siyu.db.types import utcnow
from siyu.errors import Invalid


def record_consent(
    session: Session,
    *,
    contact_id: int,
    channel: str,
    granted: bool,
    source: str,
    purpose: str = "",
    recorded_at: datetime | None = None,
) -> bool:
    """Store a consent statement; returns False when a newer one was already on record."""
    if channel not in CONSENT_CHANNELS:
        raise Invalid(f"unknown consent channel {channel!r}; known: {', '.join(CONSENT_CHANNELS)}")
    at = recorded_at or utcnow()
    current = session.execute(
        select(ContactConsent).where(
            ContactConsent.contact_id == contact_id, ContactConsent.channel == channel
        )
    ).scalar_one_or_none()
    if current is None:
        session.add(
            ContactConsent(
                contact_id=contact_id,
                channel=channel,
                granted=granted,
                source=source,
                purpose=purpose,
                recorded_at=at,
            )
        )
        session.flush()
        return True
    # A repeated statement (an import run twice, an export imported back) changes nothing,
    # and an older statement never overrides a newer one.
    if current.recorded_at > at or (current.granted == granted and current.purpose == purpose):
        return False
    session.execute(
        update(ContactConsent)
        .where(ContactConsent.id == current.id)
        .values(granted=granted, source=source, purpose=purpose, recorded_at=at)
    )
    return True
