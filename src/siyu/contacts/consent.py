"""Consent per channel: the latest statement wins; older ones never overwrite newer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.contacts.models import CONSENT_CHANNELS, ContactConsent
from siyu.db.bulk import insert_rows, update_rows
from siyu.db.sql import one_of
from siyu.db.types import utcnow
from siyu.errors import Invalid
from siyu.kit.chunks import chunked
from siyu.segments import pending


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
        pending.mark(session, [contact_id])
        return True
    # A repeated statement (an import run twice, an export imported back) changes nothing,
    # and an older statement never overrides a newer one.
    if not _supersedes(current, granted, purpose, at):
        return False
    session.execute(
        update(ContactConsent)
        .where(ContactConsent.id == current.id)
        .values(granted=granted, source=source, purpose=purpose, recorded_at=at)
    )
    pending.mark(session, [contact_id])
    return True


def _supersedes(current: Any, granted: bool, purpose: str, at: datetime) -> bool:
    """Whether a statement replaces the one on record (see record_consent)."""
    if current.recorded_at > at:
        return False
    return not (current.granted == granted and current.purpose == purpose)


def record_consents(
    session: Session, statements: Sequence[tuple[int, Any]], *, source: str
) -> set[int]:
    """Many statements at once (an import): `(contact_id, statement)` pairs, where a statement
    has channel, granted, purpose and recorded_at. Returns the contacts whose consent changed.

    Whatever the order of the rows, per channel the newest statement wins (a tie: withdrawn
    wins, the safe side against spam), and a statement that grants or withdraws what is
    already on record changes nothing: an import cannot re-date or re-word a consent.
    """
    table = ContactConsent.__table__
    now = utcnow()
    state: dict[tuple[int, str], dict[str, Any]] = {}
    row_ids: dict[tuple[int, str], int] = {}
    ids = sorted({contact_id for contact_id, _ in statements})
    for batch in chunked(ids, 2000):
        for row in session.execute(select(table).where(one_of(session, table.c.contact_id, batch))):
            key = (row.contact_id, row.channel)
            row_ids[key] = row.id
            state[key] = {
                "granted": row.granted,
                "source": row.source,
                "purpose": row.purpose,
                "recorded_at": row.recorded_at,
            }
    changed: set[tuple[int, str]] = set()
    for contact_id, statement in statements:
        key = (contact_id, statement.channel)
        at = statement.recorded_at or now
        held = state.get(key)
        if held is not None:
            if held["granted"] == statement.granted:
                continue
            if at < held["recorded_at"] or (at == held["recorded_at"] and statement.granted):
                continue
        state[key] = {
            "granted": statement.granted,
            "source": source,
            "purpose": statement.purpose,
            "recorded_at": at,
        }
        changed.add(key)
    insert_rows(
        session,
        table,
        [
            {"contact_id": key[0], "channel": key[1], **state[key]}
            for key in sorted(changed)
            if key not in row_ids
        ],
    )
    update_rows(
        session,
        table,
        [{**state[key], "id": row_ids[key]} for key in sorted(changed) if key in row_ids],
    )
    contacts = {contact_id for contact_id, _ in changed}
    pending.mark(session, contacts)
    return contacts
