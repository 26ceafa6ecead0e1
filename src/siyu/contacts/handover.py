"""Handing customers over (离职继承 / 在职继承): from a departing or reassigned staff member to
another, all of them or a selection, with a preview of how many move."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.audit import service as audit
from siyu.contacts.models import Contact, ContactTagLink, Tag
from siyu.contacts.service import resolve_id, selected_contacts
from siyu.contacts.tags import parse_tag
from siyu.errors import Invalid
from siyu.kit.actor import Actor
from siyu.segments import pending
from siyu.staff.models import StaffUser
from siyu.staff.permissions import allow
from siyu.staff.service import get_staff

# How many of the moved ids the audit event lists; the count is always exact.
AUDIT_IDS = 1000


def handover(
    session: Session,
    *,
    from_login: str,
    to_login: str,
    actor: Actor,
    contact_ids: Sequence[int] | None = None,
    tag: str | None = None,
    preview: bool = False,
) -> int:
    """Move the customers `from_login` owns (or those of `contact_ids`, or those tagged `tag`,
    they own) to `to_login`.

    Returns how many move; with `preview`, only counts them.
    """
    source, target, condition = _selection(
        session,
        from_login=from_login,
        to_login=to_login,
        actor=actor,
        contact_ids=contact_ids,
        tag=tag,
    )
    if preview:
        return session.execute(select(func.count()).where(condition)).scalar_one()
    moved = list(
        session.execute(select(Contact.id).where(condition).order_by(Contact.id)).scalars()
    )
    if moved:
        session.execute(update(Contact).where(condition).values(owner_id=target.id))
        pending.mark(session, moved)
        audit.record(
            session,
            actor=actor.label,
            action="contact.handover",
            subject_type="staff",
            subject_id=source.id,
            to=target.login,
            count=len(moved),
            contact_ids=moved[:AUDIT_IDS],
        )
    return len(moved)


@dataclass
class HandoverPreview:
    count: int
    sample: list[Contact]  # a few of them, those who spent most first


def preview_handover(
    session: Session,
    *,
    from_login: str,
    to_login: str,
    actor: Actor,
    contact_ids: Sequence[int] | None = None,
    tag: str | None = None,
    sample: int = 5,
) -> HandoverPreview:
    """How many customers a handover would move, and a few of them, moving nothing."""
    _source, _target, condition = _selection(
        session,
        from_login=from_login,
        to_login=to_login,
        actor=actor,
        contact_ids=contact_ids,
        tag=tag,
    )
    count = session.execute(select(func.count()).where(condition)).scalar_one()
    few = session.execute(
        select(Contact)
        .where(condition)
        .order_by(Contact.total_spent.desc(), Contact.id)
        .limit(sample)
    ).scalars()
    return HandoverPreview(count, list(few))


def customers_per_owner(session: Session, *, actor: Actor) -> dict[int, int]:
    """How many customers each staff member owns, by staff id."""
    allow(actor, "edit")
    rows = session.execute(
        select(Contact.owner_id, func.count())
        .where(Contact.owner_id.is_not(None))
        .group_by(Contact.owner_id)
    )
    return {owner: count for owner, count in rows}


def _selection(
    session: Session,
    *,
    from_login: str,
    to_login: str,
    actor: Actor,
    contact_ids: Sequence[int] | None,
    tag: str | None,
) -> tuple[StaffUser, StaffUser, Any]:
    """Who hands over, who takes over, and the condition on contacts that move."""
    allow(actor, "edit")
    source, target = get_staff(session, from_login), get_staff(session, to_login)
    if source.id == target.id:
        raise Invalid("hand customers over to someone else")
    if target.disabled_at is not None:
        raise Invalid(f"{to_login} is disabled and cannot take customers over")
    condition = Contact.owner_id == source.id
    if contact_ids is not None:
        # An id that was merged away names its survivor now.
        live = {resolve_id(session, int(cid)) for cid in contact_ids}
        condition = condition & Contact.id.in_(sorted(cid for cid in live if cid is not None))
    if tag is not None:
        group, name = parse_tag(tag)
        condition = condition & Contact.id.in_(
            select(ContactTagLink.contact_id)
            .join(Tag, Tag.id == ContactTagLink.tag_id)
            .where(Tag.tag_group == group, Tag.name == name)
        )
    return source, target, condition


def assign(session: Session, *, contact_ids: Sequence[int], to_login: str, actor: Actor) -> int:
    """Give a selection of customers, whoever owns them now, to `to_login`; returns how many
    changed owner. Needs the right to change customers, on every one of them."""
    contacts = selected_contacts(session, contact_ids, actor=actor, action="edit")
    target = get_staff(session, to_login)
    if target.disabled_at is not None:
        raise Invalid(f"{to_login} is disabled and cannot take customers over")
    moved = [c for c in contacts if c.owner_id != target.id]
    if moved:
        session.execute(
            update(Contact).where(Contact.id.in_([c.id for c in moved])).values(owner_id=target.id)
        )
        pending.mark(session, [c.id for c in moved])
        audit.record(
            session,
            actor=actor.label,
            action="contact.assign",
            subject_type="staff",
            subject_id=target.id,
            to=target.login,
            count=len(moved),
            contact_ids=[c.id for c in moved][:AUDIT_IDS],
        )
    return len(moved)
