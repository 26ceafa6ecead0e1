"""Segments: define, count, preview, list members, keep, change and remove.

A dynamic segment is a query kept current as data arrives (see segments.membership); a static
list is a fixed set of contacts, taken as a snapshot of a query or given as a list of
references. Every function checks what the actor may do, so the API, console and CLI agree.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.audit.service import record
from siyu.contacts.models import Contact, ContactTagLink, Tag
from siyu.contacts.service import get_by_ref
from siyu.contacts.tags import ensure_tags, parse_tag, tag_label
from siyu.db.types import utcnow
from siyu.errors import Conflict, Invalid, NotFound
from siyu.kit.actor import Actor
from siyu.kit.pagination import decode_cursor, encode_cursor, is_id
from siyu.kit.timeutil import isoformat
from siyu.segments import membership, pending
from siyu.segments.checks import check, nearest
from siyu.segments.compiler import Compiled, compile_query
from siyu.segments.language import parse, to_text
from siyu.segments.models import SEGMENT_KINDS, Segment, SegmentMember, SegmentMembership
from siyu.staff.permissions import allow, owns_only, scope_contacts

MAX_NAME = 120
MAX_LIMIT = 500


def read_query(
    session: Session,
    *,
    query: str | None = None,
    definition: dict[str, Any] | None = None,
    inside: int | None = None,
) -> tuple[dict[str, Any], str, Compiled]:
    """Either form, checked and compiled: (JSON, canonical text, compiled).

    `inside` is the segment being defined, so a definition cannot reach back to it."""
    if query is not None and definition is not None:
        raise Invalid("give the query as text or as JSON, not both")
    if query is not None:
        node = parse(query)
    elif definition is not None:
        node = check(definition)
    else:
        raise Invalid('a segment needs a query, e.g. tag("VIP") and total_spent >= ¥500')
    return node, to_text(node), compile_query(session, node, inside=inside)


def count(
    session: Session,
    *,
    actor: Actor,
    query: str | None = None,
    definition: dict[str, Any] | None = None,
    now: datetime | None = None,
    sample: int = 0,
) -> dict[str, Any]:
    """How many contacts a query matches now (staff: of their own customers), how long the
    database took, and optionally a few of them to look at."""
    allow(actor, "read")
    node, text, compiled = read_query(session, query=query, definition=definition)
    params = compiled.params(now or utcnow())
    counted = scope_contacts(
        select(func.count()).select_from(Contact).where(compiled.condition), actor
    )
    started = time.perf_counter()
    total = session.scalar(counted, params) or 0
    took = (time.perf_counter() - started) * 1000
    result: dict[str, Any] = {
        "count": int(total),
        "sql_ms": round(took, 1),
        "query": text,
        "definition": node,
    }
    if sample:
        picked = scope_contacts(
            select(Contact).where(compiled.condition).order_by(Contact.id.desc()).limit(sample),
            actor,
        )
        result["sample"] = [_row(c) for c in session.scalars(picked, params)]
    return result


def _row(contact: Contact, entered_at: datetime | None = None) -> dict[str, Any]:
    row = {
        "id": contact.id,
        "name": contact.name,
        "phone_hint": contact.phone_hint,
        "city": contact.city,
        "order_count": contact.order_count,
        "total_spent": contact.total_spent,
        "last_order_at": isoformat(contact.last_order_at),
    }
    if entered_at is not None:
        row["entered_at"] = isoformat(entered_at)
    return row


def _name(session: Session, name: str, *, keep: Segment | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise Invalid("a segment needs a name")
    if len(name) > MAX_NAME:
        raise Invalid(f"a segment name has at most {MAX_NAME} characters")
    taken = session.scalar(select(Segment).where(Segment.name == name))
    if taken is not None and taken is not keep:
        raise Conflict(f"there is already a segment named {name!r}")
    return name


def _tag_id(session: Session, tag: str | None) -> int | None:
    if not tag:
        return None
    pair = parse_tag(tag)
    return ensure_tags(session, [pair])[pair]


def create_segment(
    session: Session,
    *,
    actor: Actor,
    name: str,
    kind: str = "dynamic",
    query: str | None = None,
    definition: dict[str, Any] | None = None,
    description: str = "",
    tag: str | None = None,
    members: Iterable[str] | None = None,
    now: datetime | None = None,
) -> Segment:
    """A new segment, filled at once. A static list is filled from `members` (ids or
    kind:value references), or as a snapshot of the query when one is given."""
    allow(actor, "segment")
    if kind not in SEGMENT_KINDS:
        raise Invalid(f"kind must be one of {', '.join(SEGMENT_KINDS)}, not {kind!r}")
    now = now or utcnow()
    segment = Segment(
        name=_name(session, name),
        kind=kind,
        description=description or "",
        tag_id=_tag_id(session, tag),
        created_by=actor.label,
        member_count=0,
    )
    snapshot: set[int] = set()
    if kind == "dynamic" or query is not None or definition is not None:
        node, text, compiled = read_query(session, query=query, definition=definition)
        segment.query = text
        if kind == "dynamic":
            segment.definition = node
            segment.clock_dependent = compiled.clock_dependent
        else:
            selected = select(Contact.id).where(compiled.condition)
            snapshot = set(session.scalars(selected, compiled.params(now)))
    elif members is None:
        raise Invalid("a static list needs members or a query to take a snapshot of")
    session.add(segment)
    session.flush()
    if kind == "dynamic":
        membership.refresh(session, segment=segment, now=now, fire=False)
    else:
        snapshot |= set(_resolve_refs(session, members or []))
        change = membership.Change(sorted(snapshot), [])
        membership.apply(session, segment=segment, change=change, now=now, fire=False, reason="")
        segment.refreshed_at = now
    record(
        session,
        actor=actor.label,
        action="segment.create",
        subject_type="segment",
        subject_id=segment.id,
        name=segment.name,
        kind=kind,
        query=segment.query,
        members=segment.member_count,
    )
    return segment


def _resolve_refs(session: Session, refs: Iterable[str]) -> list[int]:
    """Contact ids for ids or kind:value references; every unknown one is reported at once."""
    ids, missing = [], []
    for number, ref in enumerate(refs, start=1):
        ref = str(ref).strip()
        if not ref:
            continue
        try:
            ids.append(get_by_ref(session, ref).id)
        except (NotFound, Invalid):
            missing.append(f"{number}: {ref}")
    if missing:
        shown = "; ".join(missing[:10]) + (
            f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        )
        raise Invalid(f"{len(missing)} reference(s) name no contact — {shown}", missing=missing)
    return ids


def get_segment(session: Session, ref: str | int) -> Segment:
    """A segment by id or by name; an unknown name gets the nearest one suggested."""
    text = str(ref).strip()
    if text.isdigit() and text.isascii() and is_id(int(text)):
        found = session.get(Segment, int(text))
        if found is not None:
            return found
    found = session.scalar(select(Segment).where(Segment.name == text))
    if found is None:
        names = list(session.scalars(select(Segment.name)))
        suggestion = nearest(text, names) if names else None
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        raise NotFound(f"no segment {text!r}{hint}")
    return found


def list_segments(session: Session, *, actor: Actor) -> list[Segment]:
    allow(actor, "read")
    return list(session.scalars(select(Segment).order_by(Segment.name)))


def referring(session: Session, name: str) -> list[str]:
    """Names of the segments whose definitions include in_segment(name)."""
    found = []
    for other, definition in session.execute(
        select(Segment.name, Segment.definition).where(Segment.definition.is_not(None))
    ):
        if _mentions(definition, name):
            found.append(other)
    return sorted(found)


def _mentions(node: Any, name: str) -> bool:
    if isinstance(node, dict):
        if node.get("call") == "in_segment" and node.get("args", {}).get("name") == name:
            return True
        return any(_mentions(v, name) for v in node.values())
    if isinstance(node, list):
        return any(_mentions(v, name) for v in node)
    return False


def update_segment(
    session: Session,
    *,
    actor: Actor,
    segment: Segment,
    name: str | None = None,
    query: str | None = None,
    definition: dict[str, Any] | None = None,
    description: str | None = None,
    tag: str | None = None,
    now: datetime | None = None,
) -> Segment:
    """Rename, describe, redefine (dynamic) or change the auto-tag. A new definition is
    applied at once; those who leave because of it are recorded as `segment_changed`."""
    allow(actor, "segment")
    now = now or utcnow()
    changed: dict[str, Any] = {}
    if name is not None and name.strip() != segment.name:
        users = referring(session, segment.name)
        if users:
            raise Conflict(
                f"segment {segment.name!r} is used by {', '.join(users)}; "
                "change those first, then rename it"
            )
        changed["name"] = segment.name = _name(session, name, keep=segment)
    if description is not None:
        segment.description = changed["description"] = description
    if tag is not None:
        segment.tag_id = _tag_id(session, tag)
        changed["tag"] = tag
    if query is not None or definition is not None:
        if segment.kind != "dynamic":
            raise Invalid(f"{segment.name!r} is a static list; add or remove members instead")
        node, text, compiled = read_query(
            session, query=query, definition=definition, inside=segment.id
        )
        segment.definition, segment.query = node, text
        segment.clock_dependent = compiled.clock_dependent
        changed["query"] = text
    segment.updated_at = now
    session.flush()
    if "query" in changed or "tag" in changed:
        membership.refresh(session, segment=segment, now=now, fire=False, reason="segment_changed")
    if "query" in changed:
        # Segments that include this one through in_segment(...) change with it.
        for other in referring(session, segment.name):
            membership.refresh(
                session,
                segment=get_segment(session, other),
                now=now,
                fire=False,
                reason="segment_changed",
            )
    record(
        session,
        actor=actor.label,
        action="segment.update",
        subject_type="segment",
        subject_id=segment.id,
        **changed,
    )
    return segment


def delete_segment(session: Session, *, actor: Actor, segment: Segment) -> None:
    allow(actor, "segment")
    users = referring(session, segment.name)
    if users:
        raise Conflict(
            f"segment {segment.name!r} is used by {', '.join(users)}; change those first"
        )
    if segment.tag_id is not None:
        # Its members lose the tag it gave them.
        members = select(SegmentMember.contact_id).where(SegmentMember.segment_id == segment.id)
        session.execute(
            ContactTagLink.__table__.delete().where(
                ContactTagLink.tag_id == segment.tag_id,
                ContactTagLink.source == "rule",
                ContactTagLink.contact_id.in_(members),
            )
        )
    record(
        session,
        actor=actor.label,
        action="segment.delete",
        subject_type="segment",
        subject_id=segment.id,
        name=segment.name,
    )
    session.delete(segment)
    session.flush()


def refresh_now(session: Session, *, actor: Actor, segment: Segment) -> membership.Change:
    """Recompute a dynamic segment from the whole pool at once, firing events for changes."""
    allow(actor, "segment")
    return membership.refresh(session, segment=segment, now=utcnow(), fire=True)


def change_members(
    session: Session,
    *,
    actor: Actor,
    segment: Segment,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
) -> membership.Change:
    """Add or remove members of a static list by id or kind:value reference."""
    allow(actor, "segment")
    if segment.kind != "static":
        raise Invalid(f"{segment.name!r} is dynamic: its members follow its query")
    wanted, unwanted = set(_resolve_refs(session, add)), set(_resolve_refs(session, remove))
    present = membership.members_among(session, segment.id, sorted(wanted | unwanted))
    change = membership.Change(sorted(wanted - present - unwanted), sorted(unwanted & present))
    now = utcnow()
    membership.apply(session, segment=segment, change=change, now=now, fire=True, reason="removed")
    segment.updated_at = now
    # Segments built on this list follow it.
    pending.mark(session, [*change.entered, *change.exited])
    record(
        session,
        actor=actor.label,
        action="segment.members",
        subject_type="segment",
        subject_id=segment.id,
        added=len(change.entered),
        removed=len(change.exited),
    )
    return change


def members_page(
    session: Session,
    *,
    actor: Actor,
    segment: Segment,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], str | None]:
    """Members, newest contact first, a page at a time (staff: only their own customers)."""
    allow(actor, "read")
    limit = max(1, min(limit, MAX_LIMIT))
    query = (
        select(Contact, SegmentMember.entered_at)
        .join(SegmentMember, SegmentMember.contact_id == Contact.id)
        .where(SegmentMember.segment_id == segment.id)
    )
    if owns_only(actor):
        query = query.where(Contact.owner_id == actor.staff_id)
    if cursor:
        (last,) = decode_cursor(cursor, 1)
        if not is_id(last):
            raise Invalid(f"cursor {cursor!r} is not one this server gave out")
        query = query.where(Contact.id < last)
    rows = session.execute(query.order_by(Contact.id.desc()).limit(limit + 1)).all()
    items = [_row(contact, entered) for contact, entered in rows[:limit]]
    following = encode_cursor(rows[limit - 1][0].id) if len(rows) > limit else None
    return items, following


def member_ids(segment: Segment) -> Any:
    """The select of a segment's member ids, for exports."""
    return select(SegmentMember.contact_id).where(SegmentMember.segment_id == segment.id)


def history(
    session: Session,
    *,
    actor: Actor,
    segment: Segment,
    contact_id: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Stays in the segment, latest first: who was in when, and why they left."""
    allow(actor, "read")
    query = select(SegmentMembership).where(SegmentMembership.segment_id == segment.id)
    if contact_id is not None:
        query = query.where(SegmentMembership.contact_id == contact_id)
    rows = session.scalars(query.order_by(SegmentMembership.id.desc()).limit(limit))
    return [
        {
            "contact_id": row.contact_id,
            "entered_at": isoformat(row.entered_at),
            "exited_at": isoformat(row.exited_at),
            "exit_reason": row.exit_reason,
        }
        for row in rows
    ]


def describe(session: Session, segment: Segment) -> dict[str, Any]:
    tag = session.get(Tag, segment.tag_id) if segment.tag_id else None
    return {
        "id": segment.id,
        "name": segment.name,
        "kind": segment.kind,
        "description": segment.description,
        "query": segment.query,
        "definition": segment.definition,
        "clock_dependent": segment.clock_dependent,
        "tag": tag_label(tag.tag_group, tag.name) if tag else None,
        "member_count": segment.member_count,
        "refreshed_at": isoformat(segment.refreshed_at),
        "created_by": segment.created_by,
        "created_at": isoformat(segment.created_at),
        "updated_at": isoformat(segment.updated_at),
    }


def segments_of(session: Session, contact_id: int) -> list[dict[str, Any]]:
    """The segments a contact is in now, for the customer 360."""
    rows = session.execute(
        select(Segment.id, Segment.name, SegmentMember.entered_at)
        .join(SegmentMember, SegmentMember.segment_id == Segment.id)
        .where(SegmentMember.contact_id == contact_id)
        .order_by(Segment.name)
    )
    return [{"id": i, "name": n, "entered_at": isoformat(at)} for i, n, at in rows]
