"""Clicks on the tracked links in messages: counted on the message, then the reader goes on."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from siyu.db.types import utcnow
from siyu.engage import tokens
from siyu.engage.models import EngageClick, EngageMessage
from siyu.errors import NotFound
from siyu.ingest.inbound.links import truncate_ip


def follow(session: Session, *, token: str, ip: str | None) -> str:
    """Record a click and return where it leads; a forged or altered token is NotFound."""
    found = tokens.click_from_token(token)
    if found is None:
        raise NotFound("this link is not one Siyu made")
    message_id, url = found
    if not url.startswith(("https://", "http://")):
        raise NotFound("this link leads nowhere Siyu sends people")
    message = session.get(EngageMessage, message_id)
    if message is None:  # the message was deleted with its contact: still take them there
        return url
    now = utcnow()
    session.add(EngageClick(message_id=message_id, url=url, ip=truncate_ip(ip), clicked_at=now))
    session.execute(
        update(EngageMessage)
        .where(EngageMessage.id == message_id)
        .values(clicks=EngageMessage.clicks + 1)
    )
    session.execute(
        update(EngageMessage)
        .where(EngageMessage.id == message_id, EngageMessage.first_clicked_at.is_(None))
        .values(first_clicked_at=now)
    )
    return url
