"""Finding contacts: free-text and identity search, tag and attribute filters, sorts, and
cursor pages that cost the same at any depth. Used by the API, the CLI and the console.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import exists, false, func, literal, or_, select
from sqlalchemy.orm import Session

from siyu.contacts.identity import lookup_identities, normalise_identity, parse_ref
from siyu.contacts.models import (
    CONSENT_CHANNELS,
    IDENTITY_KINDS,
    Contact,
    ContactConsent,
    ContactIdentity,
    ContactOrder,
    ContactTagLink,
    Tag,
)
from siyu.contacts.service import staff_by_login, summary
from siyu.contacts.tags import parse_tag, tags_of
from siyu.contacts.text_index import containing
from siyu.errors import Invalid
from siyu.kit.actor import Actor
from siyu.kit.pagination import Page, decode_cursor, encode_cursor, is_id
from siyu.staff.models import StaffUser
from siyu.staff.permissions import allow, scope_contacts


def search_query(
    session: Session,
    text: str | None = None,
    *,
    tag: str | None = None,
    identity: str | None = None,
) -> Any:
    """The contacts matching free text (name, identity value, phone hint), a tag and an identity."""
    query = select(Contact)
    if text and text.strip():
        query = query.where(_matching(session, text.strip()))
    if tag:
        query = query.where(_tagged(session, tag))
    if identity:
        kind, value = parse_ref(identity)
        query = query.where(
            Contact.id.in_(
                select(ContactIdentity.contact_id).where(
                    ContactIdentity.kind == kind, ContactIdentity.value == value
                )
            )
        )
    return query


def _matching(session: Session, needle: str) -> Any:
    """Free text: an exact identity (indexed) first; only when none matches, a substring of the
    name or masked phone (through their trigram index, see text_index)."""
    wanted = {(kind, needle) for kind in IDENTITY_KINDS}
    for kind in ("phone", "email"):
        try:
            normalised = normalise_identity(kind, needle)
        except Invalid:
            normalised = None
        if normalised:
            wanted.add(normalised)
    found = set(lookup_identities(session, sorted(wanted)).values())
    by_id = (
        [Contact.id == int(needle)]
        if needle.isascii() and needle.isdigit() and is_id(int(needle))
        else []
    )
    if found:
        return or_(Contact.id.in_(sorted(found)), *by_id)
    return or_(containing(session, needle), *by_id)


# Above this many members a tag is common: walking contacts newest first and checking each finds
# a page sooner than listing every member (which is better for rare tags).
COMMON_TAG = 5000


def _tagged(session: Session, tag: str) -> Any:
    group, name = parse_tag(tag)
    tag_id = session.execute(
        select(Tag.id).where(Tag.tag_group == group, Tag.name == name)
    ).scalar()
    if tag_id is None:
        return false()
    members = session.execute(
        select(func.count()).select_from(ContactTagLink).where(ContactTagLink.tag_id == tag_id)
    ).scalar_one()
    if members > COMMON_TAG:
        return exists().where(
            ContactTagLink.contact_id == Contact.id, ContactTagLink.tag_id == tag_id
        )
    return Contact.id.in_(select(ContactTagLink.contact_id).where(ContactTagLink.tag_id == tag_id))


# Orders a list can take: (column, newest first); "newest" walks the primary key, the others an
# index of (column, id) each (migration 0006), so any page is an index range.
SORTS = {
    "newest": None,
    "last_order": Contact.last_order_at,
    "total_spent": Contact.total_spent,
    "order_count": Contact.order_count,
}
UNASSIGNED = "-"  # the owner filter's value for contacts nobody owns


def list_contacts(
    session: Session,
    *,
    text: str | None = None,
    tag: str | None = None,
    identity: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    actor: Actor | None = None,
    owner: str | None = None,
    platform: str | None = None,
    min_orders: int | None = None,
    consent: str | None = None,
    sort: str = "newest",
) -> Page:
    """Contacts, newest first (by id) or by `sort`, cursor-paginated so page 1,000 costs what
    page 1 costs.

    Filters: `owner` (a staff login, or UNASSIGNED), `platform` (bought there), `min_orders`,
    `consent` (a channel the contact consented to).
    """
    limit = max(1, min(limit, 500))
    if actor is not None:
        allow(actor, "read")
    if sort not in SORTS:
        raise Invalid(f"unknown sort {sort!r}; known: {', '.join(SORTS)}")
    query = search_query(session, text, tag=tag, identity=identity)
    query = scope_contacts(_filtered(session, query, owner, platform, min_orders, consent), actor)
    column = SORTS[sort]
    if cursor:
        query = query.where(_after(cursor, column))
    if column is None:
        contacts = list(
            session.execute(query.order_by(Contact.id.desc()).limit(limit + 1)).scalars()
        )
    else:
        contacts = _sorted_page(session, query, column, limit + 1)
    more = len(contacts) > limit
    contacts = contacts[:limit]
    ids = [c.id for c in contacts]
    tags = tags_of(session, ids)
    identities: dict[int, list[dict[str, str]]] = {cid: [] for cid in ids}
    for row in session.execute(
        select(
            ContactIdentity.contact_id,
            ContactIdentity.kind,
            ContactIdentity.value,
            ContactIdentity.source,
        )
        .where(ContactIdentity.contact_id.in_(ids))
        .order_by(ContactIdentity.kind, ContactIdentity.value)
    ):
        identities[row.contact_id].append(
            {"kind": row.kind, "value": row.value, "source": row.source}
        )
    owners = _owner_logins(session, {c.owner_id for c in contacts if c.owner_id})
    items = [
        summary(c, identities=identities[c.id], tags=tags[c.id], owner=owners.get(c.owner_id))
        for c in contacts
    ]
    next_cursor = None
    if more:
        last = contacts[-1]
        if column is None:
            next_cursor = encode_cursor(last.id)
        else:
            value = getattr(last, column.key)
            next_cursor = encode_cursor(
                value.isoformat() if isinstance(value, datetime) else value, last.id
            )
    return Page(items=items, next_cursor=next_cursor)


def _filtered(
    session: Session,
    query: Any,
    owner: str | None,
    platform: str | None,
    min_orders: int | None,
    consent: str | None,
) -> Any:
    if owner == UNASSIGNED:
        query = query.where(Contact.owner_id.is_(None))
    elif owner:
        query = query.where(Contact.owner_id == staff_by_login(session, owner).id)
    if platform:
        # An unknown platform would read every contact to find none; the (platform, order id)
        # index answers that at once.
        sold = session.execute(
            select(ContactOrder.id).where(ContactOrder.platform == platform).limit(1)
        ).first()
        if sold is None:
            return query.where(false())
        # `platforms` is "jd,taobao": match a whole name between commas.
        padded = literal(",") + Contact.platforms + literal(",")
        query = query.where(padded.contains(f",{platform},", autoescape=True))
    if min_orders:
        query = query.where(Contact.order_count >= min_orders)
    if consent:
        if consent not in CONSENT_CHANNELS:
            raise Invalid(f"unknown consent channel {consent!r}")
        query = query.where(
            exists().where(
                ContactConsent.contact_id == Contact.id,
                ContactConsent.channel == consent,
                ContactConsent.granted.is_(True),
            )
        )
    return query


def _sorted_page(session: Session, query: Any, column: Any, limit: int) -> list[Contact]:
    """A sorted page: its ids from the (key, id) index alone, then its rows by id. Filters the
    index cannot answer make the database sort (key, id) pairs only, not whole rows."""
    order = column.desc().nulls_last() if column.nullable else column.desc()
    ids = list(
        session.execute(
            query.with_only_columns(Contact.id).order_by(order, Contact.id.desc()).limit(limit)
        ).scalars()
    )
    rows = {c.id: c for c in session.execute(select(Contact).where(Contact.id.in_(ids))).scalars()}
    return [rows[cid] for cid in ids]


def _after(cursor: str, column: Any) -> Any:
    """The rows after a cursor's (value, id) in the order list_contacts gives them."""
    if column is None:
        (last_id,) = decode_cursor(cursor, 1)
        if not is_id(last_id):
            raise Invalid(f"cursor {cursor!r} is not one this server gave out")
        return Contact.id < int(last_id)
    value, last_id = decode_cursor(cursor, 2)
    if not is_id(last_id):
        raise Invalid(f"cursor {cursor!r} is not one this server gave out")
    if value is not None:
        value = _cursor_value(cursor, value, column)
    if value is None:  # past the last dated row: only undated ones are left (NULLS LAST)
        return column.is_(None) & (Contact.id < last_id)
    after = or_(column < value, (column == value) & (Contact.id < last_id))
    return or_(after, column.is_(None)) if column.nullable else after


def _cursor_value(cursor: str, value: Any, column: Any) -> Any:
    if column is Contact.last_order_at:
        try:
            parsed = datetime.fromisoformat(str(value))
        except (ValueError, OverflowError):
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    elif type(value) is int and -(2**63) <= value < 2**63:
        return value
    raise Invalid(f"cursor {cursor!r} is not one this server gave out")


def _owner_logins(session: Session, ids: set[int | None]) -> dict[int | None, str]:
    if not ids:
        return {}
    return dict(
        session.execute(select(StaffUser.id, StaffUser.login).where(StaffUser.id.in_(ids))).all()
    )
