"""Events that Siyu itself records (a form sign-up, a link click, a segment entered), each
under an event source of its own that no write key opens."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.events.models import EventSource


def source_id(session: Session, *, prefix: str, name: str) -> int:
    """The internal source with this prefix, made the first time it is needed."""
    query = select(EventSource.id).where(EventSource.prefix == prefix)
    found = session.execute(query).scalar_one_or_none()
    if found is not None:
        return int(found)
    try:
        with session.begin_nested():
            source = EventSource(
                name=name,
                prefix=prefix,
                # The hash of a secret thrown away: nobody can send to this source over /v1.
                secret_hash=secrets.token_hex(32),
                created_by="system",
            )
            session.add(source)
        return source.id
    except IntegrityError:  # a concurrent first event made it
        return int(session.execute(query).scalar_one())
