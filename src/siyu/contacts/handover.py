"""Handing customers over (离职继承 / 在职继承): from a departing or reassigned staff member to
another, all of them or a selection, with a preview of how many move."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.audit import service as audit
from siyu.contacts.models import Contact
from siyu.contacts.service import resolve_id
from siyu.errors import Invalid
from siyu.kit.actor import Actor
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
    preview: bool = False,
) -> int:
    """Move the customers `from_login` owns (or those of `contact_ids` they own) to `to_login`.

    Returns how many move; with `preview`, only counts them.
    """
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
    if preview:
        return session.execute(select(func.count()).where(condition)).scalar_one()
    moved = list(
        session.execute(select(Contact.id).where(condition).order_by(Contact.id)).scalars()
    )
    if moved:
        session.execute(update(Contact).where(condition).values(owner_id=target.id))
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
