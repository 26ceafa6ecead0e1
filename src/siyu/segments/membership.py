"""Keeping segment membership current: full refreshes, re-evaluating changed contacts, the
clock sweep, and what a change of membership sets off (history, auto-tags, events).

Who is in a dynamic segment is stored (segment_member) and kept current by data, not by a
nightly rebuild: writers mark the contacts they change (segments.pending), the worker looks
at those contacts against every dynamic segment within a second, and `segment_entered` /
`segment_exited` events record each change for journeys to start from. Conditions that move
with the clock alone (within: 90d, 30d ago) are refreshed by a scheduled sweep.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from siyu.contacts.models import Contact, ContactTagLink
from siyu.contacts.tags import link_tags
from siyu.db.sql import one_of
from siyu.events import internal
from siyu.events.models import Event
from siyu.kit.chunks import chunked
from siyu.segments.compiler import Compiled, compile_query
from siyu.segments.models import Segment, SegmentMember, SegmentMembership, SegmentPendingContact

EVENT_SOURCE_PREFIX = "siyu_segments"
ENTERED, EXITED = "segment_entered", "segment_exited"
# Past this many changed contacts at once (a large import), refreshing each segment whole is
# cheaper than looking at the contacts one batch at a time.
FULL_REFRESH_AFTER = 50_000
BATCH = 5_000
# pg_advisory_xact_lock key for membership writes ("segm").
LOCK_KEY = 0x7365676D


@dataclass
class Change:
    entered: list[int] = field(default_factory=list)
    exited: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.entered or self.exited)


# Compiled segments, rebuilt when any segment changes (a definition may include another's).
_compiled: dict[tuple[Any, ...], Compiled] = {}


def compiled(
    session: Session, segment: Segment, version: tuple[Any, ...], *, few: bool = False
) -> Compiled:
    key = (
        session.get_bind().dialect.name,
        segment.id,
        json.dumps(segment.definition, sort_keys=True),
        version,
        few,
    )
    found = _compiled.get(key)
    if found is None:
        if len(_compiled) > 1000:
            _compiled.clear()
        found = _compiled[key] = compile_query(session, segment.definition or {}, few=few)
    return found


def definitions(session: Session) -> tuple[tuple[Any, ...], list[tuple[int, dict[str, Any]]]]:
    """(version, [(id, definition) of each dynamic segment]). The version is what compiled
    queries depend on: every segment's name, kind and definition (a query includes others by
    name). Member counts and refresh times change all the time and do not count, so a change
    of membership does not throw the compiled queries away."""
    rows = session.execute(
        select(Segment.id, Segment.name, Segment.kind, Segment.definition).order_by(Segment.id)
    ).all()
    key = hash(json.dumps([list(row) for row in rows], sort_keys=True, ensure_ascii=False))
    return (key,), [(i, d) for i, _name, kind, d in rows if kind == "dynamic" and d]


def version(session: Session) -> tuple[Any, ...]:
    return definitions(session)[0]


def matching(
    session: Session, segment: Segment, *, now: datetime, among: Sequence[int] | None = None
) -> set[int]:
    """Who meets the segment's definition now (of `among`, when given)."""
    query = compiled(session, segment, version(session), few=among is not None)
    statement = select(Contact.id).where(query.condition)
    if among is not None:
        statement = statement.where(one_of(session, Contact.id, among))
    return set(session.scalars(statement, query.params(now)))


def members_among(session: Session, segment_id: int, among: Sequence[int] | None) -> set[int]:
    statement = select(SegmentMember.contact_id).where(SegmentMember.segment_id == segment_id)
    if among is not None:
        statement = statement.where(one_of(session, SegmentMember.contact_id, among))
    return set(session.scalars(statement))


def serialise(session: Session) -> None:
    """One membership writer at a time across processes (PostgreSQL); SQLite has one anyway.

    Two workers refreshing the same segment at once would both insert the same new members."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def refresh(
    session: Session, *, segment: Segment, now: datetime, fire: bool, reason: str = "left"
) -> Change:
    """Recompute a dynamic segment from the whole pool and store the difference."""
    serialise(session)
    if segment.kind != "dynamic":
        return Change()
    wanted = matching(session, segment, now=now)
    present = members_among(session, segment.id, None)
    change = Change(sorted(wanted - present), sorted(present - wanted))
    apply(session, segment=segment, change=change, now=now, fire=fire, reason=reason)
    segment.refreshed_at = now
    return change


def apply(
    session: Session, *, segment: Segment, change: Change, now: datetime, fire: bool, reason: str
) -> None:
    """Store a change of membership with its history, auto-tag and (when `fire`) events."""
    if not change:
        return
    members = SegmentMember.__table__
    history = SegmentMembership.__table__
    for batch in chunked(change.exited, BATCH):
        session.execute(
            delete(members).where(
                members.c.segment_id == segment.id, one_of(session, members.c.contact_id, batch)
            )
        )
        session.execute(
            update(history)
            .where(
                history.c.segment_id == segment.id,
                history.c.exited_at.is_(None),
                one_of(session, history.c.contact_id, batch),
            )
            .values(exited_at=now, exit_reason=reason)
        )
    for batch in chunked(change.entered, BATCH):
        session.execute(
            insert(members),
            [{"segment_id": segment.id, "contact_id": c, "entered_at": now} for c in batch],
        )
        session.execute(
            insert(history),
            [{"segment_id": segment.id, "contact_id": c, "entered_at": now} for c in batch],
        )
    segment.member_count = (segment.member_count or 0) + len(change.entered) - len(change.exited)
    if segment.tag_id is not None:
        _auto_tag(session, segment, change)
    if fire:
        _fire(session, segment, change, now)


def _auto_tag(session: Session, segment: Segment, change: Change) -> None:
    # Rule-sourced tags are Siyu's to take away again; a tag a person added stays. These
    # writes mark no contact as changed: a segment reading another segment's tag sees it at
    # the next refresh, and two auto-tagging segments can never set each other off forever.
    actor = f"segment:{segment.name}"[:64]
    link_tags(
        session,
        [(c, segment.tag_id) for c in change.entered],
        source="rule",
        actor=actor,
        mark_changed=False,
    )
    links = ContactTagLink.__table__
    for batch in chunked(change.exited, BATCH):
        session.execute(
            delete(links).where(
                links.c.tag_id == segment.tag_id,
                links.c.source == "rule",
                one_of(session, links.c.contact_id, batch),
            )
        )


def _fire(session: Session, segment: Segment, change: Change, now: datetime) -> None:
    source_id = internal.source_id(session, prefix=EVENT_SOURCE_PREFIX, name="segments")
    properties = {"segment_id": segment.id, "segment": segment.name}
    stamp = f"{now.timestamp():.6f}"
    for name, ids in ((ENTERED, change.entered), (EXITED, change.exited)):
        for batch in chunked(ids, BATCH):
            session.execute(
                insert(Event),
                [
                    {
                        "source_id": source_id,
                        "contact_id": contact_id,
                        "type": "track",
                        "name": name,
                        # Unique even when one moment sees a contact come, go and come back.
                        "message_id": f"{name}-{segment.id}-{contact_id}-{stamp}-"
                        f"{secrets.token_hex(4)}",
                        "properties": properties,
                        "timestamp": now,
                        "received_at": now,
                    }
                    for contact_id in batch
                ],
            )


def dynamic_segments(session: Session) -> list[Segment]:
    return list(
        session.scalars(select(Segment).where(Segment.kind == "dynamic").order_by(Segment.id))
    )


# One statement asking every dynamic segment about a batch of contacts, per schema version.
_together: dict[tuple[Any, ...], tuple[Any, dict[str, timedelta]]] = {}


def _all_segments(
    session: Session, segments: list[tuple[int, dict[str, Any]]], current: tuple[Any, ...]
) -> tuple[Any, dict[str, timedelta]]:
    """(statement, clock parameters): the (segment id, contact id) pairs that match, for the
    contacts bound as `ids`, every segment a branch of one UNION ALL: one round trip."""
    key = (session.get_bind().dialect.name, current)
    found = _together.get(key)
    if found is None:
        branches, spans = [], {}
        ids = bindparam("ids", expanding=True)
        for segment_id, definition in segments:
            query = compile_query(session, definition, few=True, names=f"since_{segment_id}")
            spans.update(query.spans)
            branches.append(
                select(
                    literal(segment_id, BigInteger).label("segment_id"),
                    Contact.id.label("contact_id"),
                ).where(Contact.id.in_(ids), query.condition)
            )
        if len(_together) > 50:
            _together.clear()
        found = _together[key] = (union_all(*branches), spans)
    return found


def reevaluate(session: Session, *, contact_ids: Iterable[int], now: datetime) -> int:
    """Look at these contacts again against every dynamic segment; returns changes made."""
    ids = sorted(set(contact_ids))
    if not ids:
        return 0
    serialise(session)
    current, segments = definitions(session)
    if not segments:
        return 0
    statement, spans = _all_segments(session, segments, current)
    clock = {name: now - span for name, span in spans.items()}
    changes = 0
    # Batches small enough for a plain IN list, which every planner reads as "these rows".
    for batch in chunked(ids, 500):
        existing = set(session.scalars(select(Contact.id).where(Contact.id.in_(batch))))
        gone = [c for c in batch if c not in existing]
        if gone:
            _close_absorbed(session, gone, now)
        present: dict[int, set[int]] = {}
        for segment_id, contact_id in session.execute(
            select(SegmentMember.segment_id, SegmentMember.contact_id).where(
                SegmentMember.contact_id.in_(batch)
            )
        ):
            present.setdefault(segment_id, set()).add(contact_id)
        wanted: dict[int, set[int]] = {}
        for segment_id, contact_id in session.execute(statement, {"ids": batch, **clock}):
            wanted.setdefault(segment_id, set()).add(contact_id)
        for segment_id, _definition in segments:
            held, now_in = present.get(segment_id, set()), wanted.get(segment_id, set())
            change = Change(sorted(now_in - held), sorted(held - now_in))
            if change:
                segment = session.get_one(Segment, segment_id)
                apply(session, segment=segment, change=change, now=now, fire=True, reason="left")
            changes += len(change.entered) + len(change.exited)
    return changes


def _close_absorbed(session: Session, contact_ids: list[int], now: datetime) -> None:
    """Contacts merged into others: their stays end (their member rows went with them)."""
    history = SegmentMembership.__table__
    closed = session.execute(
        select(history.c.segment_id, func.count())
        .where(history.c.exited_at.is_(None), one_of(session, history.c.contact_id, contact_ids))
        .group_by(history.c.segment_id)
    ).all()
    session.execute(
        update(history)
        .where(history.c.exited_at.is_(None), one_of(session, history.c.contact_id, contact_ids))
        .values(exited_at=now, exit_reason="merged")
    )
    for segment_id, count in closed:
        session.execute(
            update(Segment)
            .where(Segment.id == segment_id)
            .values(member_count=Segment.member_count - count)
        )


def process_pending(session: Session, *, now: datetime, limit: int = BATCH) -> int:
    """Re-evaluate contacts marked as changed; returns how many were taken."""
    pending = SegmentPendingContact.__table__
    if session.scalar(select(pending.c.contact_id).limit(1)) is None:
        return 0  # the common case, answered without taking the lock
    serialise(session)
    total = session.scalar(select(func.count()).select_from(pending)) or 0
    if not total:
        return 0
    if total > FULL_REFRESH_AFTER:
        session.execute(delete(pending))
        for segment in dynamic_segments(session):
            refresh(session, segment=segment, now=now, fire=True)
        return int(total)
    query = select(pending.c.contact_id).order_by(pending.c.changed_at).limit(limit)
    ids = list(session.scalars(query))
    if not ids:
        return 0
    session.execute(delete(pending).where(one_of(session, pending.c.contact_id, ids)))
    reevaluate(session, contact_ids=ids, now=now)
    return len(ids)


def refresh_reading(session: Session, field_prefix: str, *, now: datetime) -> int:
    """Refresh every dynamic segment whose query reads a field starting with `field_prefix`
    (after something rewrote that field for the whole pool); returns changes made."""
    segments = dynamic_segments(session)
    reading = {s.name for s in segments if _fields(s.definition) & {field_prefix}}
    # A segment that includes a reading one through in_segment(...) reads it too.
    while True:
        more = {s.name for s in segments if _included(s.definition) & reading} - reading
        if not more:
            break
        reading |= more
    changes = 0
    for segment in segments:
        if segment.name in reading:
            change = refresh(session, segment=segment, now=now, fire=True)
            changes += len(change.entered) + len(change.exited)
    return changes


def _walk(node: Any) -> Iterable[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _fields(node: Any) -> set[str]:
    """The field prefixes ("rfm.", "traits.") a query reads."""
    return {
        part["field"].split(".")[0] + "."
        for part in _walk(node)
        if isinstance(part.get("field"), str) and "." in part["field"]
    }


def _included(node: Any) -> set[str]:
    return {part["args"]["name"] for part in _walk(node) if part.get("call") == "in_segment"}


def sweep(session: Session, *, now: datetime) -> int:
    """Refresh the segments whose membership moves with the clock; returns changes made."""
    changes = 0
    for segment in dynamic_segments(session):
        if segment.clock_dependent:
            change = refresh(session, segment=segment, now=now, fire=True)
            changes += len(change.entered) + len(change.exited)
    return changes
