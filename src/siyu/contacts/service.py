"""Contact services: look-up, the customer 360, create/update, identities, tags, notes, consent.

Plain functions over a Session; they never commit (the request, command or job does).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, false, func, literal, or_, select
from sqlalchemy.orm import Session

from siyu.audit import service as audit
from siyu.contacts import lifecycle
from siyu.contacts.consent import record_consent
from siyu.contacts.identity import (
    Claim,
    lookup_identities,
    merge,
    normalise_identity,
    parse_ref,
    resolve,
)
from siyu.contacts.models import (
    CONSENT_CHANNELS,
    IDENTITY_KINDS,
    Contact,
    ContactAlias,
    ContactConsent,
    ContactIdentity,
    ContactMerge,
    ContactNote,
    ContactOrder,
    ContactTagLink,
    Tag,
)
from siyu.contacts.orders import list_orders
from siyu.contacts.tags import ensure_tags, link_tags, parse_tag, tag_label, tags_of, unlink_tag
from siyu.errors import Conflict, Invalid, NotFound
from siyu.events.timeline import recent_events
from siyu.kit.actor import Actor
from siyu.kit.pagination import Page, decode_cursor, encode_cursor, is_id
from siyu.kit.timeutil import isoformat
from siyu.staff.models import StaffUser
from siyu.staff.permissions import allow, check_contact, scope_contacts

EDITABLE = ("name", "city", "province", "traits", "owner")


def resolve_id(session: Session, contact_id: int) -> int | None:
    """The live contact for an id, following merges (an absorbed id resolves to its survivor)."""
    if session.get(Contact, contact_id) is not None:
        return contact_id
    return session.execute(
        select(ContactAlias.contact_id).where(ContactAlias.old_id == contact_id)
    ).scalar_one_or_none()


def get_by_ref(session: Session, ref: str | int, actor: Actor | None = None) -> Contact:
    """A contact by id (old merged ids too) or by an identity reference `kind:value`.

    With an actor, also checks that the actor may see that contact.
    """
    contact = _find(session, ref)
    if actor is not None:
        check_contact(actor, contact, "read")
    return contact


def _find(session: Session, ref: str | int) -> Contact:
    text = str(ref).strip()
    if text.isdigit():
        # Digits that name no 64-bit id ("²" passes isdigit, so does a 30-digit number).
        if not (text.isascii() and is_id(int(text))):
            raise NotFound(f"no contact with id {text}")
        contact_id = resolve_id(session, int(text))
        if contact_id is None:
            raise NotFound(f"no contact with id {text}")
        return session.get_one(Contact, contact_id)
    kind, value = parse_ref(text)
    found = lookup_identities(session, [(kind, value)])
    if not found:
        raise NotFound(f"no contact with {kind} {value}")
    return session.get_one(Contact, found[(kind, value)])


def identities_of(session: Session, contact_id: int) -> list[dict[str, str]]:
    rows = session.execute(
        select(ContactIdentity.kind, ContactIdentity.value, ContactIdentity.source)
        .where(ContactIdentity.contact_id == contact_id)
        .order_by(ContactIdentity.kind, ContactIdentity.value)
    )
    return [{"kind": k, "value": v, "source": s} for k, v, s in rows]


def summary(
    contact: Contact,
    *,
    identities: list[dict[str, str]],
    tags: list[dict[str, str]],
    owner: str | None = None,
) -> dict[str, Any]:
    return {
        "id": contact.id,
        "name": contact.name,
        "phone_hint": contact.phone_hint,
        "city": contact.city,
        "province": contact.province,
        "source": contact.source,
        "owner": owner,
        "identities": [{"kind": i["kind"], "value": i["value"]} for i in identities],
        "tags": [t["label"] for t in tags],
        "order_count": contact.order_count,
        "total_spent": contact.total_spent,
        "refunded_amount": contact.refunded_amount,
        "average_order_value": contact.average_order_value,
        "first_order_at": isoformat(contact.first_order_at),
        "last_order_at": isoformat(contact.last_order_at),
        "platforms": [p for p in contact.platforms.split(",") if p],
        "traits": contact.traits or {},
        "created_at": isoformat(contact.created_at),
        "updated_at": isoformat(contact.updated_at),
    }


def profile(session: Session, contact: Contact, *, recent_orders: int = 20) -> dict[str, Any]:
    """The customer 360: profile, identities, rollups, tags, notes, consent, orders, merges."""
    cid = contact.id
    owner = session.get(StaffUser, contact.owner_id) if contact.owner_id else None
    tags = tags_of(session, [cid])[cid]
    data = summary(
        contact,
        identities=identities_of(session, cid),
        tags=tags,
        owner=owner.login if owner else None,
    )
    data["tag_details"] = tags
    data["merged_ids"] = list(
        session.execute(
            select(ContactAlias.old_id)
            .where(ContactAlias.contact_id == cid)
            .order_by(ContactAlias.old_id)
        ).scalars()
    )
    data["merges"] = [
        {
            "absorbed_id": m.absorbed_id,
            "survivor_id": m.survivor_id,
            "reason": m.reason,
            "evidence": m.evidence,
            "actor": m.actor,
            "merged_at": isoformat(m.merged_at),
        }
        for m in session.execute(
            select(ContactMerge)
            .where(
                or_(
                    ContactMerge.survivor_id == cid,
                    ContactMerge.survivor_id.in_(data["merged_ids"] or [-1]),
                )
            )
            .order_by(ContactMerge.merged_at)
        ).scalars()
    ]
    data["notes"] = [
        {"id": n.id, "body": n.body, "author": n.author, "created_at": isoformat(n.created_at)}
        for n in session.execute(
            select(ContactNote)
            .where(ContactNote.contact_id == cid)
            .order_by(ContactNote.created_at.desc(), ContactNote.id.desc())
        ).scalars()
    ]
    data["consents"] = [
        {
            "channel": c.channel,
            "granted": c.granted,
            "source": c.source,
            "purpose": c.purpose,
            "recorded_at": isoformat(c.recorded_at),
        }
        for c in session.execute(
            select(ContactConsent)
            .where(ContactConsent.contact_id == cid)
            .order_by(ContactConsent.channel)
        ).scalars()
    ]
    data["recent_orders"] = (
        list_orders(session, contact_id=cid, limit=recent_orders).items if recent_orders > 0 else []
    )
    data["lifecycle_stage"] = lifecycle.stage(session, contact)
    data["events"] = recent_events(session, cid)
    return data


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
    name or masked phone, which has to read every contact."""
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
    return or_(
        Contact.name.contains(needle, autoescape=True),
        Contact.phone_hint.contains(needle, autoescape=True),
        *by_id,
    )


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


def staff_by_login(session: Session, login: str) -> StaffUser:
    staff = session.execute(select(StaffUser).where(StaffUser.login == login)).scalar_one_or_none()
    if staff is None:
        raise Invalid(f"owner {login!r} is no staff login")
    return staff


def create_contact(
    session: Session,
    *,
    actor: Actor,
    identities: list[str],
    name: str | None = None,
    city: str | None = None,
    province: str | None = None,
    owner: str | None = None,
    traits: dict[str, Any] | None = None,
    tags: list[str] | None = None,
) -> Contact:
    allow(actor, "create")
    parsed = [parse_ref(ref) for ref in identities]
    if parsed:
        taken = lookup_identities(session, parsed)
        if taken:
            (kind, value), cid = next(iter(taken.items()))
            raise Conflict(f"{kind}:{value} already belongs to contact {cid}", contact_id=cid)
    result = resolve(
        session,
        [Claim(parsed, {"name": name, "city": city, "province": province})],
        source="api",
        actor=actor.label,
    )
    contact = session.get_one(Contact, result.contact_ids[0])
    if not parsed:
        contact.name, contact.city, contact.province = name, city, province
    if owner:
        contact.owner_id = staff_by_login(session, owner).id
    if traits:
        contact.traits = dict(traits)
    if tags:
        add_tags(session, contact=contact, tags=tags, actor=actor)
    session.flush()
    audit.record(
        session,
        actor=actor.label,
        action="contact.create",
        subject_type="contact",
        subject_id=contact.id,
        identities=identities,
        name=name,
    )
    return contact


def update_contact(
    session: Session, *, contact: Contact, actor: Actor, changes: dict[str, Any]
) -> Contact:
    check_contact(actor, contact, "edit")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise Invalid(
            f"cannot change {', '.join(sorted(unknown))}; editable: {', '.join(EDITABLE)}"
        )
    before = {}
    for key, value in changes.items():
        if key == "owner":
            before["owner_id"] = contact.owner_id
            contact.owner_id = staff_by_login(session, value).id if value else None
        elif key == "traits":
            before["traits"] = contact.traits
            contact.traits = {**(contact.traits or {}), **(value or {})}
        else:
            before[key] = getattr(contact, key)
            setattr(contact, key, value)
    session.flush()
    audit.record(
        session,
        actor=actor.label,
        action="contact.update",
        subject_type="contact",
        subject_id=contact.id,
        changes=changes,
        before=_jsonable(before),
    )
    return contact


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (isoformat(v) if isinstance(v, datetime) else v) for k, v in values.items()}


def add_identity(session: Session, *, contact: Contact, ref: str, actor: Actor) -> Contact:
    """Attach an identity. If another contact holds it, the two are one person: they merge."""
    check_contact(actor, contact, "edit")
    kind, value = parse_ref(ref)
    holder = lookup_identities(session, [(kind, value)]).get((kind, value))
    if holder == contact.id:
        return contact
    if holder is None:
        session.add(ContactIdentity(contact_id=contact.id, kind=kind, value=value, source="manual"))
        session.flush()
        audit.record(
            session,
            actor=actor.label,
            action="contact.identity_add",
            subject_type="contact",
            subject_id=contact.id,
            identity=f"{kind}:{value}",
        )
        return contact
    survivor, absorbed = sorted((contact.id, holder))
    merge(
        session,
        survivor=survivor,
        absorbed=absorbed,
        actor=actor.label,
        reason=f"{kind} added by {actor.label}",
        evidence={"identities": [f"{kind}:{value}"]},
    )
    audit.record(
        session,
        actor=actor.label,
        action="contact.merge",
        subject_type="contact",
        subject_id=survivor,
        absorbed_id=absorbed,
        identity=f"{kind}:{value}",
    )
    session.expire_all()
    return session.get_one(Contact, survivor)


def remove_identity(session: Session, *, contact: Contact, ref: str, actor: Actor) -> None:
    check_contact(actor, contact, "edit")
    kind, value = parse_ref(ref)
    result = session.execute(
        delete(ContactIdentity).where(
            ContactIdentity.contact_id == contact.id,
            ContactIdentity.kind == kind,
            ContactIdentity.value == value,
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"contact {contact.id} has no identity {kind}:{value}")
    audit.record(
        session,
        actor=actor.label,
        action="contact.identity_remove",
        subject_type="contact",
        subject_id=contact.id,
        identity=f"{kind}:{value}",
    )


def add_tags(
    session: Session, *, contact: Contact, tags: list[str], actor: Actor, source: str = "manual"
) -> int:
    check_contact(actor, contact, "tag")
    pairs = [parse_tag(t) for t in tags]
    ids = ensure_tags(session, pairs)
    added = link_tags(
        session, [(contact.id, ids[p]) for p in pairs], source=source, actor=actor.label
    )
    audit.record(
        session,
        actor=actor.label,
        action="contact.tag_add",
        subject_type="contact",
        subject_id=contact.id,
        tags=[tag_label(*p) for p in pairs],
    )
    return added


# The most contacts one bulk action takes (a page of the list is at most 500).
BULK_LIMIT = 500


def selected_contacts(
    session: Session, contact_ids: Sequence[int], *, actor: Actor, action: str
) -> list[Contact]:
    """The live contacts of a selection (merged-away ids name their survivors), checked all
    together: one the actor may not touch refuses the whole selection."""
    allow(actor, action)
    if not contact_ids:
        raise Invalid("select at least one customer")
    if len(contact_ids) > BULK_LIMIT:
        raise Invalid(f"select at most {BULK_LIMIT} customers at a time")
    live: set[int] = set()
    for cid in contact_ids:
        resolved = resolve_id(session, int(cid)) if is_id(int(cid)) else None
        if resolved is None:
            raise NotFound(f"no contact with id {cid}")
        live.add(resolved)
    contacts = list(
        session.execute(
            select(Contact).where(Contact.id.in_(sorted(live))).order_by(Contact.id)
        ).scalars()
    )
    for contact in contacts:
        check_contact(actor, contact, action)
    return contacts


def bulk_add_tags(
    session: Session, *, contact_ids: Sequence[int], tags: list[str], actor: Actor
) -> int:
    """Tag every selected contact; returns how many new links were made."""
    pairs = [parse_tag(t) for t in tags if t.strip()]
    if not pairs:
        raise Invalid("give at least one tag")
    contacts = selected_contacts(session, contact_ids, actor=actor, action="tag")
    ids = ensure_tags(session, pairs)
    added = link_tags(
        session,
        [(c.id, ids[p]) for c in contacts for p in pairs],
        source="manual",
        actor=actor.label,
    )
    audit.record(
        session,
        actor=actor.label,
        action="contact.bulk_tag_add",
        subject_type="contact",
        subject_id=contacts[0].id,
        tags=[tag_label(*p) for p in pairs],
        count=len(contacts),
        contact_ids=[c.id for c in contacts],
    )
    return added


def remove_tag(session: Session, *, contact: Contact, tag: str, actor: Actor) -> None:
    check_contact(actor, contact, "tag")
    group, name = parse_tag(tag)
    tag_id = session.execute(
        select(Tag.id).where(Tag.tag_group == group, Tag.name == name)
    ).scalar()
    if tag_id is None or not unlink_tag(session, contact_id=contact.id, tag_id=tag_id):
        raise NotFound(f"contact {contact.id} has no tag {tag_label(group, name)}")
    audit.record(
        session,
        actor=actor.label,
        action="contact.tag_remove",
        subject_type="contact",
        subject_id=contact.id,
        tag=tag_label(group, name),
    )


def add_note(session: Session, *, contact: Contact, body: str, actor: Actor) -> ContactNote:
    check_contact(actor, contact, "note")
    body = body.strip()
    if not body:
        raise Invalid("a note needs some text")
    note = ContactNote(contact_id=contact.id, body=body, author=actor.label)
    session.add(note)
    session.flush()
    audit.record(
        session,
        actor=actor.label,
        action="contact.note_add",
        subject_type="contact",
        subject_id=contact.id,
        note_id=note.id,
    )
    return note


def set_consent(
    session: Session,
    *,
    contact: Contact,
    channel: str,
    granted: bool,
    actor: Actor,
    purpose: str = "",
    source: str = "manual",
) -> None:
    check_contact(actor, contact, "edit")
    record_consent(
        session,
        contact_id=contact.id,
        channel=channel,
        granted=granted,
        source=source,
        purpose=purpose,
    )
    audit.record(
        session,
        actor=actor.label,
        action="contact.consent",
        subject_type="contact",
        subject_id=contact.id,
        channel=channel,
        granted=granted,
        purpose=purpose,
    )


def count_contacts(session: Session) -> int:
    return session.execute(select(func.count()).select_from(Contact)).scalar_one()
