"""Storing tracked calls: deduplicate, resolve contacts, apply traits and groups, insert events.

One call handles a whole request (up to a 2,500-event batch), or with `store_many` several
requests, with a fixed number of statements whatever their size: the identity lookups and
contact creation go through the importers' `resolve` in one pass, and events are one
executemany. Services never commit.

`prepare` does the work that needs no database (identities, JSON, times) so the API can do it
before handing the request to the writer (siyu.events.writer); `store_many` does the rest.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from siyu.contacts.identity import (
    PROFILE_FIELDS,
    Claim,
    ImportMemory,
    lookup_identities,
    resolve,
)
from siyu.db.bulk import utc_text
from siyu.db.types import utcnow
from siyu.events.intake import BadRequest, Message, dump_json
from siyu.events.models import EventGroup, EventGroupMember
from siyu.events.traits import identities_from, profile_from
from siyu.segments import pending

# Contact.source of people first seen through the event API.
CONTACT_SOURCE = "events"
_EVENT_COLUMNS = (
    "source_id",
    "contact_id",
    "type",
    "name",
    "message_id",
    "anonymous_id",
    "user_id",
    "properties",
    "context",
    "integrations",
    "timestamp",
    "original_timestamp",
    "sent_at",
    "received_at",
)


@dataclass
class Prepared:
    """A request's messages (the first of each messageId) with what needs no database."""

    messages: list[Message]
    # Who each message names; an alias's previousId is looked up when stored.
    claims: list[Claim]
    # Each event's columns after source_id and contact_id, in storage form.
    rows: list[tuple[Any, ...]]
    # Messages whose JSON holds NUL, refused only if they are new (a duplicate is skipped).
    refused: set[int]


def record(
    session: Session, *, source_id: int, messages: Sequence[Message], received_at: datetime
) -> int:
    """Store the messages not seen before from this source; returns how many were new."""
    dialect = session.get_bind().dialect.name
    return store(
        session,
        source_id=source_id,
        prepared=prepare(messages, received_at=received_at, dialect=dialect),
    )


def prepare(messages: Sequence[Message], *, received_at: datetime, dialect: str) -> Prepared:
    """Claims and event rows of a request's messages; pure, so it runs outside any lock."""
    by_id: dict[str, Message] = {}
    for message in messages:
        by_id.setdefault(message.message_id, message)  # a batch may repeat itself too
    unique = list(by_id.values())
    convert = utc_text if dialect == "sqlite" else None
    # A batch's items mostly share their times and their batch's context: each distinct time
    # is converted, and each shared dict serialised, once per request.
    times: dict[datetime | None, Any] = {None: None}
    texts: dict[int, str] = {}
    refused: set[int] = set()

    def stored(value: datetime | None) -> Any:
        if convert is None:
            return value
        try:
            return times[value]
        except KeyError:
            text = times[value] = convert(value)
            return text

    def text(value: dict[str, Any] | None, index: int, shared: bool = True) -> str | None:
        if value is None:
            return None
        key = id(value)
        serialised = texts.get(key) if shared else None
        if serialised is None:
            serialised = dump_json(value).decode()
            if shared:
                texts[key] = serialised
        if "\\u0000" in serialised:
            refused.add(index)
        return serialised

    received = stored(received_at)
    claims = []
    rows = []
    for index, m in enumerate(unique):
        claims.append(_claim(m))
        rows.append(
            (
                m.type,
                m.name,
                m.message_id,
                m.anonymous_id,
                m.user_id,
                text(m.properties, index, shared=False),
                text(m.context, index),
                text(m.integrations, index),
                stored(m.timestamp),
                stored(m.original_timestamp),
                stored(m.sent_at),
                received,
            )
        )
    return Prepared(messages=unique, claims=claims, rows=rows, refused=refused)


def _claim(message: Message) -> Claim:
    identities: list[tuple[str, str]] = []
    if message.user_id:
        identities.append(("external_id", message.user_id))
    if message.anonymous_id:
        identities.append(("anonymous_id", message.anonymous_id))
    profile: dict[str, Any] = {}
    if message.type == "identify":
        identities += [i for i in identities_from(message.traits) if i not in identities]
        profile = profile_from(message.traits)
    return Claim(identities=identities, profile=profile)


def store(session: Session, *, source_id: int, prepared: Prepared) -> int:
    """Store the prepared messages not seen before from this source; how many were new."""
    (outcome,) = store_many(session, source_id=source_id, requests=[prepared])
    if isinstance(outcome, BadRequest):
        raise outcome
    return outcome


def store_many(
    session: Session, *, source_id: int, requests: Sequence[Prepared]
) -> list[int | BadRequest]:
    """Store several requests from one source as if one after another, in one pass.

    For each request, how many of its messages were new, or why it was refused whole (a
    refused request stores nothing and the others go on). A messageId that an earlier request
    of the list carries counts as seen, so it is stored once, by the first.
    """
    seen = _seen(session, source_id, [m.message_id for p in requests for m in p.messages])
    outcomes: list[int | BadRequest] = []
    messages: list[Message] = []
    claims: list[Claim] = []
    rows: list[tuple[Any, ...]] = []
    for prepared in requests:
        fresh = [i for i, m in enumerate(prepared.messages) if m.message_id not in seen]
        refused = [prepared.messages[i].message_id for i in fresh if i in prepared.refused]
        if refused:
            # PostgreSQL's JSON cannot hold NUL; refuse it on every database alike.
            message = f"event {refused[0]} holds a NUL character"
            outcomes.append(BadRequest("invalid_event", message))
            continue
        outcomes.append(len(fresh))
        for i in fresh:
            seen.add(prepared.messages[i].message_id)
            messages.append(prepared.messages[i])
            claims.append(prepared.claims[i])
            rows.append(prepared.rows[i])
    if messages:
        contact_ids = _resolve(session, source_id, messages, claims)
        _apply_traits(session, messages, contact_ids)
        _record_groups(session, source_id, messages, contact_ids)
        _insert(session, source_id, rows, contact_ids)
        # Segments on events, traits and identities look at these people again.
        pending.mark(session, contact_ids)
    return outcomes


# Which of a request's messageIds the source sent before: one indexed probe per id, written
# as SQL so each request skips building and compiling a statement. The ids travel as one
# parameter (a JSON array on SQLite, an array on PostgreSQL), like siyu.db.sql.one_of.
_SEEN_SQL = {
    "sqlite": "SELECT message_id FROM event WHERE source_id = ? "
    "AND message_id IN (SELECT value FROM json_each(?))",
    "postgresql": "SELECT message_id FROM event WHERE source_id = %s "
    "AND message_id IN (SELECT unnest(%s::text[]))",
}


def _seen(session: Session, source_id: int, message_ids: list[str]) -> set[str]:
    """Which of these messageIds the source has sent before."""
    connection = session.connection()
    dialect = connection.dialect.name
    ids: Any = message_ids
    if dialect == "sqlite":
        ids = dump_json(ids).decode()
    # .all() fetches in one call; iterating a result fetches row by row.
    rows = connection.exec_driver_sql(_SEEN_SQL[dialect], (source_id, ids)).all()
    return {row[0] for row in rows}


def _with_aliases(session: Session, messages: list[Message], claims: list[Claim]) -> list[Claim]:
    """Claims with what each alias's previousId names added: a user id, an anonymous id, or
    both if both exist, in the database or in a message before it (as if sent one by one)."""
    previous = {m.properties["previousId"] for m in messages if m.type == "alias" and m.properties}
    if not previous:
        return claims
    kinds = ("external_id", "anonymous_id")
    known = set(lookup_identities(session, [(kind, p) for p in previous for kind in kinds]))
    result = []
    for message, claim in zip(messages, claims, strict=True):
        if message.type == "alias" and message.properties:
            value = message.properties["previousId"]
            # Unknown: analytics libraries alias the anonymous id they sent before.
            named = [(k, value) for k in kinds if (k, value) in known] or [("anonymous_id", value)]
            claim = Claim(identities=claim.identities + named, profile=claim.profile)
        known.update(claim.identities)
        result.append(claim)
    return result


def _resolve(
    session: Session, source_id: int, messages: list[Message], claims: list[Claim]
) -> list[int]:
    """The contact of every message, creating and merging contacts as their ids prove."""
    claims = _with_aliases(session, messages, claims)
    resolution = resolve(
        session,
        claims,
        source=CONTACT_SOURCE,
        actor=f"event_source:{source_id}",
        reason="event identity",
        memory=_holders(session, claims),
    )
    return resolution.contact_ids


# Who holds which of a request's identities, in one statement of plain SQL: the pairs travel
# as one parameter, each probing the (kind, value) index.
_HOLDERS_SQL = {
    "sqlite": "SELECT i.kind, i.value, i.contact_id FROM json_each(?) AS j "
    "JOIN contact_identity AS i "
    "ON i.kind = json_extract(j.value, '$[0]') AND i.value = json_extract(j.value, '$[1]')",
    "postgresql": "SELECT i.kind, i.value, i.contact_id "
    "FROM unnest(%s::text[], %s::text[]) AS j(kind, value) "
    "JOIN contact_identity AS i ON i.kind = j.kind AND i.value = j.value",
}


_PROFILES_SQL = {
    "sqlite": f"SELECT id, {', '.join(PROFILE_FIELDS)} FROM contact "
    "WHERE id IN (SELECT value FROM json_each(?))",
    "postgresql": f"SELECT id, {', '.join(PROFILE_FIELDS)} FROM contact WHERE id = ANY(%s)",
}


def _holders(session: Session, claims: list[Claim]) -> ImportMemory:
    """What resolve would read, as its memory, so it reads only the rest.

    Which contact holds each identity already known, and for the contacts that identify
    calls name, which profile fields they have set (resolve then fills only those that may be
    empty). Read in this request's transaction and used by it alone, so it cannot go stale;
    resolve builds a statement per identity kind, which costs more than this whole lookup.
    """
    memory = ImportMemory()
    pairs = list(dict.fromkeys(i for c in claims for i in c.identities))
    if not pairs:
        return memory
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "sqlite":
        params: tuple[Any, ...] = (dump_json(pairs).decode(),)
    else:
        params = ([k for k, _ in pairs], [v for _, v in pairs])
    for kind, value, contact_id in connection.exec_driver_sql(_HOLDERS_SQL[dialect], params).all():
        memory.hold((kind, value), contact_id)
    profiled = {memory.holder(i) for c in claims if c.profile for i in c.identities}
    profiled.discard(None)
    if profiled:
        ids: Any = sorted(profiled)
        if dialect == "sqlite":
            ids = dump_json(ids).decode()
        profiles = connection.exec_driver_sql(_PROFILES_SQL[dialect], (ids,)).all()
        for contact_id, *values in profiles:
            memory.learn(contact_id, dict(zip(PROFILE_FIELDS, values, strict=True)))
    return memory


_TRAITS_SQL = {
    "sqlite": "SELECT id, traits FROM contact WHERE id IN (SELECT value FROM json_each(?))",
    "postgresql": "SELECT id, traits FROM contact WHERE id = ANY(%s)",
}


def _apply_traits(session: Session, messages: list[Message], contact_ids: list[int]) -> None:
    """identify traits join the contact's traits, later calls winning; few per request."""
    updates: dict[int, dict[str, Any]] = {}
    for message, contact_id in zip(messages, contact_ids, strict=True):
        if message.type == "identify" and message.traits:
            updates.setdefault(contact_id, {}).update(message.traits)
    if not updates:
        return
    connection = session.connection()
    dialect = connection.dialect.name
    ids: Any = list(updates)
    if dialect == "sqlite":
        ids = dump_json(ids).decode()
    current = {
        # SQLite hands JSON back as text, PostgreSQL's JSONB as what it holds.
        contact_id: json.loads(traits) if isinstance(traits, str) else traits
        for contact_id, traits in connection.exec_driver_sql(_TRAITS_SQL[dialect], (ids,)).all()
    }
    # One executemany of plain SQL rather than a statement per contact.
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    connection.exec_driver_sql(
        f"UPDATE contact SET traits = {mark} WHERE id = {mark}",
        [
            (dump_json({**(current.get(contact_id) or {}), **traits}).decode(), contact_id)
            for contact_id, traits in updates.items()
        ],
    )


def _insert_for(session: Session) -> Any:
    # Both dialects spell ON CONFLICT the same way; SQLAlchemy has one insert per dialect.
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _record_groups(
    session: Session, source_id: int, messages: list[Message], contact_ids: list[int]
) -> None:
    calls = [(m, c) for m, c in zip(messages, contact_ids, strict=True) if m.type == "group"]
    if not calls:
        return
    insert = _insert_for(session)
    now = utcnow()
    groups = EventGroup.__table__
    for message, contact_id in calls:
        traits = message.traits
        name = traits.get("name") if isinstance(traits.get("name"), str) else None
        statement = insert(groups).values(
            source_id=source_id,
            group_key=message.name,
            name=name[:200] if name else None,
            traits=traits or None,
            created_at=now,
            updated_at=now,
        )
        statement = statement.on_conflict_do_update(
            index_elements=["source_id", "group_key"],
            set_={
                "name": statement.excluded.name,
                "traits": statement.excluded.traits,
                "updated_at": now,
            },
        )
        group_id = session.execute(statement.returning(groups.c.id)).scalar_one()
        member = insert(EventGroupMember.__table__).values(
            group_id=group_id, contact_id=contact_id, joined_at=message.timestamp
        )
        session.execute(member.on_conflict_do_nothing())


def _insert(
    session: Session, source_id: int, rows: list[tuple[Any, ...]], contact_ids: list[int]
) -> None:
    connection = session.connection()
    quote = connection.dialect.identifier_preparer.quote
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    # A retry racing its own first attempt (the client timed out while the server worked):
    # the unique (source, messageId) key keeps one, and the other request still succeeds.
    sql = (
        f"INSERT INTO {quote('event')} ({', '.join(quote(c) for c in _EVENT_COLUMNS)}) "
        f"VALUES ({', '.join([mark] * len(_EVENT_COLUMNS))}) "
        "ON CONFLICT (source_id, message_id) DO NOTHING"
    )
    connection.exec_driver_sql(
        sql, [(source_id, c, *row) for row, c in zip(rows, contact_ids, strict=True)]
    )
