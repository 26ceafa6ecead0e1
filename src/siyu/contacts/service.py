"""Contact services: look-up, the customer 360, create/update, identities, tags, notes, consent.
Finding and listing contacts is in `search.py`.

Plain functions over a Session; they never commit (the request, command or job does).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from siyu.analytics import rfm
from siyu.audit import service as audit
from siyu.contacts import consent as consent_service
from siyu.contacts import lifecycle
from siyu.contacts.identity import (
    Claim,
    lookup_identities,
    merge,
    parse_ref,
    resolve,
)
from siyu.contacts.models import (
    Contact,
    ContactAlias,
    ContactIdentity,
    ContactMerge,
    ContactNote,
    Tag,
)
from siyu.contacts.orders import list_orders
from siyu.contacts.tags import ensure_tags, link_tags, parse_tag, tag_label, tags_of, unlink_tag
from siyu.errors import Conflict, Invalid, NotFound
from siyu.events.timeline import recent_events
from siyu.kit.actor import Actor
from siyu.kit.pagination import is_id
from siyu.kit.timeutil import isoformat
from siyu.segments import pending
from siyu.staff.models import StaffUser
from siyu.staff.permissions import allow, check_contact

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
    data["consents"] = consent_service.current(session, cid)
    data["recent_orders"] = (
        list_orders(session, contact_id=cid, limit=recent_orders).items if recent_orders > 0 else []
    )
    data["lifecycle_stage"] = lifecycle.stage(session, contact)
    data["lifecycle_history"] = lifecycle.history(session, cid)
    data["rfm"] = rfm.score_of(session, cid)
    data["events"] = recent_events(session, cid)
    return data


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
    pending.mark(session, [contact.id])
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
    pending.mark(session, [contact.id])
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
        lifecycle.refresh(session, contact_ids=[contact.id], reason="identity")
        pending.mark(session, [contact.id])
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
    lifecycle.refresh(session, contact_ids=[contact.id], reason="identity")
    pending.mark(session, [contact.id])
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
    ip: str | None = None,
) -> bool:
    """Grant or withdraw; see contacts.consent.change_consent, which this is kept for."""
    return consent_service.change_consent(
        session,
        contact=contact,
        channel=channel,
        granted=granted,
        actor=actor,
        purpose=purpose,
        source=source,
        ip=ip,
    )


def count_contacts(session: Session) -> int:
    return session.execute(select(func.count()).select_from(Contact)).scalar_one()
