"""Event sources and their write keys: create, list, revoke, authenticate.

A write key can only send events: it is not an API key (different prefix, different table),
so it opens nothing under /api.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audit import service as audit
from siyu.db.types import utcnow
from siyu.errors import Invalid, NotFound, Unauthorized
from siyu.events.models import EventSource
from siyu.kit.actor import Actor
from siyu.kit.keys import KeyKind, matches
from siyu.staff.permissions import allow

WRITE_KEY = KeyKind("sywk_", random_bytes=24)


def create_source(session: Session, *, name: str, actor: Actor) -> tuple[EventSource, str]:
    """A new source; the returned write key is shown once and only its hash is kept."""
    allow(actor, "manage")
    name = name.strip()
    if not name or len(name) > 120:
        raise Invalid("a source needs a name of 1 to 120 characters")
    secret, prefix, secret_hash = WRITE_KEY.new()
    source = EventSource(
        name=name,
        prefix=prefix,
        secret_hash=secret_hash,
        created_by=actor.label[:64],
    )
    session.add(source)
    session.flush()
    audit.record(
        session,
        actor=actor.label,
        action="source.create",
        subject_type="event_source",
        subject_id=source.id,
        name=name,
    )
    return source, secret


def list_sources(session: Session, *, actor: Actor | None = None) -> list[EventSource]:
    if actor is not None:
        allow(actor, "manage")
    return list(session.execute(select(EventSource).order_by(EventSource.id)).scalars())


def revoke_source(session: Session, *, ref: str, actor: Actor) -> EventSource:
    """Revoke by id or key prefix; the key stops working with the next request."""
    allow(actor, "manage")
    text = ref.strip()
    if text.isascii() and text.isdigit():
        source = session.get(EventSource, int(text)) if int(text) < 2**63 else None
    else:
        source = session.execute(
            select(EventSource).where(EventSource.prefix == text[: WRITE_KEY.lookup_length])
        ).scalar_one_or_none()
    if source is None:
        raise NotFound(f"no event source {text!r}")
    if source.revoked_at is None:
        source.revoked_at = utcnow()
        audit.record(
            session,
            actor=actor.label,
            action="source.revoke",
            subject_type="event_source",
            subject_id=source.id,
        )
    return source


def authenticate(session: Session, write_key: str | None) -> int:
    """The id of the live source whose write key this is; Unauthorized otherwise."""
    if not write_key:
        raise Unauthorized("a write key is required: HTTP Basic user name or writeKey")
    prefix = WRITE_KEY.lookup(write_key)
    if prefix is None:
        raise Unauthorized("not a Siyu write key")
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    # Plain SQL: every event write checks its key, and building the statement cost more
    # than running it.
    row = connection.exec_driver_sql(
        f"SELECT id, secret_hash, revoked_at IS NOT NULL FROM event_source WHERE prefix = {mark}",
        (prefix,),
    ).first()
    if row is None or not matches(row[1], write_key):
        raise Unauthorized("unknown write key")
    if row[2]:
        raise Unauthorized("this write key was revoked")
    return row[0]


def source_dict(source: EventSource) -> dict[str, object]:
    return {
        "id": source.id,
        "name": source.name,
        "prefix": source.prefix,
        "created_by": source.created_by,
        "created_at": source.created_at.isoformat() if source.created_at else None,
        "revoked_at": source.revoked_at.isoformat() if source.revoked_at else None,
    }
