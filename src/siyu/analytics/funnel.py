"""Lead to deal: how far the pool's people have come, per source, as a funnel.

The stages are those of `siyu.contacts.lifecycle`, counted in SQL instead of asked one contact
at a time, and cumulative, as a funnel is read:

- `visitors`: everyone in the pool (each lead, buyer and repeat buyer was a visitor first,
  even when a shop export brought them in already known);
- `leads`: known by something that reaches a person, i.e. any identity other than an
  anonymous id, or a buyer (lifecycle stage `lead` or `customer`);
- `first_order`: paid for at least one order on any shop (stage `customer`);
- `repeat_order`: paid for two or more.

Orders count as the contact's rollups count them (paid, whatever happened after; base
currency), which is also what `lifecycle.stage` reads.
"""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import Integer, case, exists, func, select
from sqlalchemy.orm import Session

from siyu.contacts.models import Contact, ContactIdentity
from siyu.kit.actor import Actor
from siyu.kit.timeutil import as_utc, isoformat
from siyu.staff.permissions import allow, scope_contacts

STEPS = ("visitors", "leads", "first_order", "repeat_order")


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _step_dict(counts: dict[str, int]) -> dict[str, Any]:
    """The four counts with each step's share of the step before and of all visitors."""
    out: dict[str, Any] = dict(counts)
    out["conversion"] = {
        step: _rate(counts[step], counts[before]) for before, step in pairwise(STEPS)
    }
    out["overall"] = _rate(counts["repeat_order"], counts["visitors"])
    # Where each contact stands now, as lifecycle.stage would say.
    out["stages"] = {
        "visitor": counts["visitors"] - counts["leads"],
        "lead": counts["leads"] - counts["first_order"],
        "customer": counts["first_order"],
    }
    return out


def funnel(session: Session, *, actor: Actor, since: datetime | None = None) -> dict[str, Any]:
    """Visitors → leads → first order → repeat order, for the pool and per `contact.source`.

    `since` keeps contacts that entered the pool (were first recorded) at or after it; a
    time without a zone is the merchant's (SIYU_TIMEZONE).
    """
    allow(actor, "read")
    since = as_utc(since) if since is not None else None
    known = exists().where(
        ContactIdentity.contact_id == Contact.id, ContactIdentity.kind != "anonymous_id"
    )
    buyer = Contact.order_count >= 1
    query = select(
        Contact.source,
        func.count().label("visitors"),
        func.sum(case((buyer | known, 1), else_=0), type_=Integer).label("leads"),
        func.sum(case((buyer, 1), else_=0), type_=Integer).label("first_order"),
        func.sum(case((Contact.order_count >= 2, 1), else_=0), type_=Integer).label("repeat_order"),
    ).group_by(Contact.source)
    if since is not None:
        query = query.where(Contact.created_at >= since)
    query = scope_contacts(query, actor).order_by(func.count().desc(), Contact.source)
    rows = session.execute(query).all()
    by_source = [
        {"source": row.source, **_step_dict({s: int(getattr(row, s) or 0) for s in STEPS})}
        for row in rows
    ]
    total = {step: sum(r[step] for r in by_source) for step in STEPS}
    return {
        "since": isoformat(since) if since else None,
        "steps": list(STEPS),
        "total": _step_dict(total),
        "by_source": by_source,
    }
