"""Recording audit events (one call per change, in the caller's transaction) and reading them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audit.models import AuditEvent
from siyu.errors import Invalid
from siyu.kit.actor import Actor
from siyu.kit.pagination import decode_cursor, encode_cursor, is_id
from siyu.kit.timeutil import isoformat
from siyu.staff.permissions import allow

MAX_LIMIT = 500


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: object | None = None,
    **detail: Any,
) -> None:
    session.add(
        AuditEvent(
            actor=actor,
            action=action,
            subject_type=subject_type,
            subject_id=None if subject_id is None else str(subject_id),
            detail=detail,
        )
    )


@dataclass
class EventPage:
    events: list[AuditEvent] = field(default_factory=list)
    next_cursor: str | None = None


def list_events(
    session: Session,
    *,
    viewer: Actor,
    actor: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> EventPage:
    """Events newest first, filtered, a page at a time.

    `viewer` is who asks (only roles allowed "audit" may); `actor` filters by who acted.
    `action` is exact, or a prefix when it ends in ".*" ("contact.*"). `since` is inclusive,
    `until` exclusive. Pages are keyed on the id (the primary key, in insertion order), so
    page 1,000 costs what page 1 does; a subject filter uses ix_audit_event_subject.
    """
    allow(viewer, "audit")
    limit = max(1, min(limit, MAX_LIMIT))
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if action:
        if action.endswith(".*"):
            prefix = action[:-1]
            query = query.where(AuditEvent.action.startswith(prefix, autoescape=True))
        else:
            query = query.where(AuditEvent.action == action)
    if subject_type:
        query = query.where(AuditEvent.subject_type == subject_type)
    if subject_id:
        if not subject_type:
            raise Invalid("an object id needs its object type")
        query = query.where(AuditEvent.subject_id == subject_id)
    for bound in (since, until):
        if bound is not None and bound.tzinfo is None:
            raise Invalid("date bounds need a time zone")
    if since is not None:
        query = query.where(AuditEvent.occurred_at >= since)
    if until is not None:
        query = query.where(AuditEvent.occurred_at < until)
    if cursor:
        (last_id,) = decode_cursor(cursor, 1)
        if not is_id(last_id):
            raise Invalid(f"cursor {cursor!r} is not one this server gave out")
        query = query.where(AuditEvent.id < last_id)
    events = list(session.execute(query.limit(limit + 1)).scalars())
    more = len(events) > limit
    events = events[:limit]
    return EventPage(events, encode_cursor(events[-1].id) if more else None)


def event_dict(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "occurred_at": isoformat(event.occurred_at),
        "actor": event.actor,
        "action": event.action,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "detail": event.detail,
    }
