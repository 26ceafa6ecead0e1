"""The suppression list: addresses nothing is sent to, whatever consent says.

A hard bounce, a complaint or an operator's entry puts an address here. Addresses are kept
normalised (e-mail lower-cased, phones in E.164), so `is_suppressed` matches however the address
was typed. The dispatcher asks `is_suppressed` (or `suppressed_addresses` for a batch) before
each send.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.audit import service as audit
from siyu.engage.models import EngageSuppression
from siyu.errors import Invalid, NotFound
from siyu.kit.actor import Actor
from siyu.kit.chunks import chunked
from siyu.kit.normalize import normalise_email, normalise_phone
from siyu.kit.pagination import Page, decode_cursor, encode_cursor, is_id
from siyu.kit.timeutil import isoformat
from siyu.staff.permissions import allow

# The address kinds channels send to (Capabilities.address_kind); the chat ids are kept as given.
ADDRESS_KINDS = ("email", "phone", "wechat_openid", "wecom_external_userid")
MAX_LIMIT = 500


def guess_kind(address: str) -> str:
    """email when it has an @, phone otherwise: what an operator typing an address means."""
    return "email" if "@" in address else "phone"


def normalise_address(kind: str, address: str) -> str:
    """The stored form of an address; Invalid when it is none of its kind."""
    if kind not in ADDRESS_KINDS:
        raise Invalid(f"unknown address kind {kind!r}; known: {', '.join(ADDRESS_KINDS)}")
    text = (address or "").strip()
    if kind == "email":
        email = normalise_email(text)
        if email is None:
            raise Invalid(f"{address!r} is not an e-mail address")
        return email
    if kind == "phone":
        phone = normalise_phone(text).e164
        if phone is None:
            raise Invalid(f"{address!r} is not a usable phone number")
        return phone
    if not text or len(text) > 255:
        raise Invalid(f"{address!r} is not a usable {kind}")
    return text


def _as_dict(row: EngageSuppression) -> dict[str, Any]:
    return {
        "id": row.id,
        "address_kind": row.address_kind,
        "address": row.address,
        "reason": row.reason,
        "source": row.source,
        "created_at": isoformat(row.created_at),
    }


def _find(session: Session, kind: str, address: str) -> EngageSuppression | None:
    return session.execute(
        select(EngageSuppression).where(
            EngageSuppression.address_kind == kind, EngageSuppression.address == address
        )
    ).scalar_one_or_none()


def add(
    session: Session,
    *,
    address: str,
    actor: Actor,
    kind: str | None = None,
    reason: str = "",
    source: str = "manual",
) -> tuple[dict[str, Any], bool]:
    """Suppress an address; returns it and whether it was new. An address already on the
    list keeps its first reason: that is when sending to it stopped."""
    allow(actor, "edit")
    kind = kind or guess_kind(address)
    value = normalise_address(kind, address)
    existing = _find(session, kind, value)
    if existing is not None:
        return _as_dict(existing), False
    row = EngageSuppression(
        address_kind=kind, address=value, reason=reason.strip()[:2000], source=source[:64]
    )
    # A savepoint: two bounces of one address at once leave one row and no failed transaction.
    savepoint = session.begin_nested()
    try:
        session.add(row)
        session.flush()
    except IntegrityError:
        savepoint.rollback()
        found = _find(session, kind, value)
        assert found is not None
        return _as_dict(found), False
    savepoint.commit()
    audit.record(
        session,
        actor=actor.label,
        action="suppression.add",
        subject_type="suppression",
        subject_id=row.id,
        address_kind=kind,
        address=value,
        reason=row.reason,
        source=row.source,
    )
    return _as_dict(row), True


def remove(session: Session, *, address: str, actor: Actor, kind: str | None = None) -> None:
    allow(actor, "edit")
    kind = kind or guess_kind(address)
    value = normalise_address(kind, address)
    result = session.execute(
        delete(EngageSuppression).where(
            EngageSuppression.address_kind == kind, EngageSuppression.address == value
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"{kind} {value} is not on the suppression list")
    audit.record(
        session,
        actor=actor.label,
        action="suppression.remove",
        subject_type="suppression",
        address_kind=kind,
        address=value,
    )


def list_suppressions(
    session: Session,
    *,
    actor: Actor,
    kind: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page:
    """Newest first, a page at a time."""
    allow(actor, "read")
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}")
    query = select(EngageSuppression).order_by(EngageSuppression.id.desc())
    if kind:
        if kind not in ADDRESS_KINDS:
            raise Invalid(f"unknown address kind {kind!r}; known: {', '.join(ADDRESS_KINDS)}")
        query = query.where(EngageSuppression.address_kind == kind)
    if cursor:
        (last_id,) = decode_cursor(cursor, 1)
        if not is_id(last_id):
            raise Invalid(f"cursor {cursor!r} is not one this server gave out")
        query = query.where(EngageSuppression.id < last_id)
    rows = list(session.execute(query.limit(limit + 1)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page([_as_dict(r) for r in rows], encode_cursor(rows[-1].id) if more else None)


def is_suppressed(session: Session, kind: str, address: str) -> bool:
    """Whether nothing may be sent to this address. One that cannot be normalised is not on
    the list (and cannot be sent to either)."""
    try:
        value = normalise_address(kind, address)
    except Invalid:
        return False
    return _find(session, kind, value) is not None


def suppressed_addresses(session: Session, kind: str, addresses: Iterable[str]) -> set[str]:
    """Which of many stored-form addresses (as contact identities hold them) are suppressed:
    one query per 2000, for a campaign's batch."""
    found: set[str] = set()
    for batch in chunked(sorted(set(addresses)), 2000):
        found.update(
            session.execute(
                select(EngageSuppression.address).where(
                    EngageSuppression.address_kind == kind, EngageSuppression.address.in_(batch)
                )
            ).scalars()
        )
    return found
