"""Reading a contact's events, through the ids of contacts it absorbed in merges."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.contacts.models import ContactAlias
from siyu.events.models import Event


def contact_ids_of(session: Session, contact_id: int) -> list[int]:
    """The contact's id and every id merged into it: events keep the id they arrived with."""
    merged = session.execute(
        select(ContactAlias.old_id).where(ContactAlias.contact_id == contact_id)
    ).scalars()
    return [contact_id, *merged]


def recent_events(session: Session, contact_id: int, *, limit: int = 20) -> list[dict[str, Any]]:
    """The contact's most recent events, newest first."""
    ids = contact_ids_of(session, contact_id)
    rows = session.execute(
        select(Event.type, Event.name, Event.timestamp, Event.message_id, Event.properties)
        .where(Event.contact_id.in_(ids))
        .order_by(Event.timestamp.desc(), Event.id.desc())
        .limit(limit)
    )
    return [
        {
            "type": row.type,
            "name": row.name,
            "timestamp": row.timestamp.isoformat(),
            "message_id": row.message_id,
            "properties": row.properties or {},
        }
        for row in rows
    ]
