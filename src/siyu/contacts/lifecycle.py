"""Lifecycle stage (lead to deal), worked out from what the pool already holds, never stored.

- `customer`: has paid for at least one order on any shop (the purchase rollup counts it);
- `lead`: known by something that reaches a person (a phone, an e-mail, a WeChat id, a user
  id sent by identify or a form, a shop account) but has not bought yet;
- `visitor`: known only by an anonymous id from web or app tracking.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.contacts.models import Contact, ContactIdentity

STAGES = ("visitor", "lead", "customer")


def stage(session: Session, contact: Contact) -> str:
    if contact.order_count > 0:
        return "customer"
    known = session.execute(
        select(ContactIdentity.id)
        .where(ContactIdentity.contact_id == contact.id, ContactIdentity.kind != "anonymous_id")
        .limit(1)
    ).first()
    return "lead" if known else "visitor"
