"""Consent per channel: the latest statement wins; older ones never overwrite newer.

contact_consent holds each contact's current consent per channel; contact_consent_change, the
ledger, gets one row for every statement that changed it, whichever path it came by (a form, an
import, the console, the API, the CLI, an unsubscribe link, an SMS reply). Repeats write nothing.

`record_consent` and `record_consents` are the writers and check no permission: forms, imports
and unsubscribe links act for the contact. Staff, keys and scripts go through `change_consent`
(`grant`, `withdraw`), which checks the actor's role and writes the audit log too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.audit import service as audit
from siyu.contacts.models import CONSENT_CHANNELS, Contact, ContactConsent, ContactConsentChange
from siyu.db.bulk import insert_rows, update_rows
from siyu.db.sql import one_of
from siyu.db.types import utcnow
from siyu.errors import Invalid
from siyu.kit.actor import Actor
from siyu.kit.chunks import chunked
from siyu.kit.network import truncate_ip
from siyu.kit.timeutil import isoformat
from siyu.segments import pending
from siyu.staff.permissions import check_contact

# The paths a statement comes by, as the ledger's `source` names them.
SOURCES = ("console", "form", "import", "api", "cli", "unsubscribe", "sms_reply")
ACTOR_LENGTH = 64


def check_channel(channel: str) -> str:
    if channel not in CONSENT_CHANNELS:
        raise Invalid(f"unknown consent channel {channel!r}; known: {', '.join(CONSENT_CHANNELS)}")
    return channel


def record_consent(
    session: Session,
    *,
    contact_id: int,
    channel: str,
    granted: bool,
    source: str,
    purpose: str = "",
    recorded_at: datetime | None = None,
    actor: str = "system",
    ip: str | None = None,
) -> bool:
    """Store a consent statement; returns False when it changed nothing (a repeat) or a newer
    one was already on record. A change also goes into the ledger, with `ip` truncated."""
    check_channel(channel)
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
    elif _supersedes(current, granted, purpose, at):
        session.execute(
            update(ContactConsent)
            .where(ContactConsent.id == current.id)
            .values(granted=granted, source=source, purpose=purpose, recorded_at=at)
        )
    else:
        # A repeated statement (an import run twice, an export imported back) changes nothing,
        # and an older statement never overrides a newer one.
        return False
    session.add(
        ContactConsentChange(
            contact_id=contact_id,
            channel=channel,
            granted=granted,
            purpose=purpose,
            source=source[:ACTOR_LENGTH],
            actor=actor[:ACTOR_LENGTH],
            ip=truncate_ip(ip),
            recorded_at=at,
        )
    )
    session.flush()
    pending.mark(session, [contact_id])
    return True


def _supersedes(current: Any, granted: bool, purpose: str, at: datetime) -> bool:
    """Whether a statement replaces the one on record (see record_consent)."""
    if current.recorded_at > at:
        return False
    if current.granted != granted:
        return True
    # A second withdrawal is a repeat whatever it says; a grant re-worded is a new agreement.
    return granted and current.purpose != purpose


def record_consents(
    session: Session,
    statements: Sequence[tuple[int, Any]],
    *,
    source: str,
    actor: str = "system",
) -> set[int]:
    """Many statements at once (an import): `(contact_id, statement)` pairs, where a statement
    has channel, granted, purpose and recorded_at. Returns the contacts whose consent changed.

    Whatever the order of the rows, per channel the newest statement wins (a tie: withdrawn
    wins, the safe side against spam), and a statement that grants or withdraws what is
    already on record changes nothing: an import cannot re-date or re-word a consent.
    contact_consent keeps `source` (the importer); the ledger says "import", by `actor`.
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
    # Each accepted statement is a change the ledger keeps, even one a later row of the same
    # file supersedes: the file said both, at the times it gave.
    ledger: list[dict[str, Any]] = []
    by = actor[:ACTOR_LENGTH]
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
        ledger.append(
            {
                "contact_id": contact_id,
                "channel": statement.channel,
                "granted": statement.granted,
                "purpose": statement.purpose,
                "source": "import",
                "actor": by,
                "ip": None,
                "recorded_at": at,
                "created_at": now,
            }
        )
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
    insert_rows(session, ContactConsentChange.__table__, ledger)
    contacts = {contact_id for contact_id, _ in changed}
    pending.mark(session, contacts)
    return contacts


def change_consent(
    session: Session,
    *,
    contact: Contact,
    channel: str,
    granted: bool,
    actor: Actor,
    source: str,
    purpose: str = "",
    ip: str | None = None,
) -> bool:
    """Grant or withdraw one channel for one contact, as `actor` may; audited when it changed
    something. Returns whether it did (False for a repeat)."""
    check_contact(actor, contact, "edit")
    check_channel(channel)
    purpose = purpose.strip()
    if len(purpose) > 200:
        raise Invalid("a purpose has at most 200 characters")
    changed = record_consent(
        session,
        contact_id=contact.id,
        channel=channel,
        granted=granted,
        source=source,
        purpose=purpose,
        actor=actor.label,
        ip=ip,
    )
    if changed:
        audit.record(
            session,
            actor=actor.label,
            action="contact.consent",
            subject_type="contact",
            subject_id=contact.id,
            channel=channel,
            granted=granted,
            purpose=purpose,
            source=source,
        )
    return changed


def grant(
    session: Session,
    *,
    contact: Contact,
    channel: str,
    actor: Actor,
    source: str,
    purpose: str = "",
    ip: str | None = None,
) -> bool:
    return change_consent(
        session,
        contact=contact,
        channel=channel,
        granted=True,
        actor=actor,
        source=source,
        purpose=purpose,
        ip=ip,
    )


def withdraw(
    session: Session,
    *,
    contact: Contact,
    channel: str,
    actor: Actor,
    source: str,
    purpose: str = "",
    ip: str | None = None,
) -> bool:
    return change_consent(
        session,
        contact=contact,
        channel=channel,
        granted=False,
        actor=actor,
        source=source,
        purpose=purpose,
        ip=ip,
    )


def current(session: Session, contact_id: int) -> list[dict[str, Any]]:
    """The consent on record per channel, channels in name order."""
    return [
        {
            "channel": c.channel,
            "granted": c.granted,
            "source": c.source,
            "purpose": c.purpose,
            "recorded_at": isoformat(c.recorded_at),
        }
        for c in session.execute(
            select(ContactConsent)
            .where(ContactConsent.contact_id == contact_id)
            .order_by(ContactConsent.channel)
        ).scalars()
    ]


def history(session: Session, contact_id: int, *, limit: int = 200) -> list[dict[str, Any]]:
    """The ledger of one contact, newest first."""
    rows = session.execute(
        select(ContactConsentChange)
        .where(ContactConsentChange.contact_id == contact_id)
        .order_by(ContactConsentChange.recorded_at.desc(), ContactConsentChange.id.desc())
        .limit(limit)
    ).scalars()
    return [
        {
            "id": row.id,
            "channel": row.channel,
            "granted": row.granted,
            "purpose": row.purpose,
            "source": row.source,
            "actor": row.actor,
            "ip": row.ip,
            "recorded_at": isoformat(row.recorded_at),
            "created_at": isoformat(row.created_at),
        }
        for row in rows
    ]
