"""Creating messages: once per idempotency key, whoever asks and however often."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.db.types import utcnow
from siyu.engage.models import EngageMessage


def campaign_key(campaign_id: int, contact_id: int) -> str:
    return f"campaign:{campaign_id}:{contact_id}"


def journey_key(journey_id: int, step: str, contact_id: int, run: int) -> str:
    return f"journey:{journey_id}:{step}:{contact_id}:{run}"


def create_message(
    session: Session,
    *,
    key: str,
    contact_id: int,
    channel_id: int,
    content_id: int,
    category: str = "marketing",
    campaign_id: int | None = None,
    journey_id: int | None = None,
    send_after: datetime | None = None,
) -> EngageMessage | None:
    """Queue one message; returns None when a message with this key already exists.

    The dispatcher applies consent, suppressions, caps and quiet hours when it sends, so a
    message queued now obeys the rules as they stand then.
    """
    if session.execute(select(EngageMessage.id).where(EngageMessage.key == key)).first():
        return None
    message = EngageMessage(
        key=key,
        contact_id=contact_id,
        channel_id=channel_id,
        content_id=content_id,
        category=category,
        campaign_id=campaign_id,
        journey_id=journey_id,
        send_after=send_after or utcnow(),
    )
    # A savepoint: two workers racing on one key leave one row and no failed transaction.
    savepoint = session.begin_nested()
    try:
        session.add(message)
        session.flush()
    except IntegrityError:
        savepoint.rollback()
        return None
    savepoint.commit()
    return message
