"""Lead to deal: how far the pool's people have come, per source, as a funnel.

Counted in SQL from the stored lifecycle stages (`siyu.contacts.lifecycle`), cumulative, as a
funnel is read:

- `visitors`: everyone in the pool (each lead, buyer and repeat buyer was a visitor first,
  even when a shop export brought them in already known);
- `leads`: known by something that reaches a person, or a buyer (any stage but `visitor`);
- `first_order`: paid for at least one order on any shop (a buyer's stage: new customer,
  repeat, loyal, at risk or churned);
- `repeat_order`: paid for two or more (an at-risk or churned buyer counts if they did).

Orders count as the contact's rollups count them (paid, whatever happened after; base
currency), which is also what the stages are worked out from.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import ColumnElement, Integer, case, func, select
from sqlalchemy.orm import Session

from siyu.contacts.models import BUYER_STAGES, LIFECYCLE_STAGES, Contact
from siyu.kit.actor import Actor
from siyu.kit.timeutil import as_utc, isoformat
from siyu.staff.permissions import allow, scope_contacts

STEPS = ("visitors", "leads", "first_order", "repeat_order")


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _step_dict(counts: dict[str, int]) -> dict[str, Any]:
    """The four counts with each step's share of the step before and of all visitors."""
    out: dict[str, Any] = {step: counts[step] for step in STEPS}
    out["conversion"] = {
        step: _rate(counts[step], counts[before]) for before, step in pairwise(STEPS)
    }
    out["overall"] = _rate(counts["repeat_order"], counts["visitors"])
    # Where each contact stands now: their stored lifecycle stage.
    out["stages"] = {stage: counts[stage] for stage in LIFECYCLE_STAGES}
    return out


def funnel(
    session: Session,
    *,
    actor: Actor,
    since: datetime | None = None,
    until: datetime | None = None,
    where: Sequence[ColumnElement[bool]] = (),
) -> dict[str, Any]:
    """Visitors → leads → first order → repeat order, for the pool and per `contact.source`.

    `since` keeps contacts that entered the pool (were first recorded) at or after it, `until`
    before it; a time without a zone is the merchant's (SIYU_TIMEZONE). `where`: more
    conditions on the contact (the reports' segment).
    """
    allow(actor, "read")
    since = as_utc(since) if since is not None else None
    stage = func.coalesce(Contact.lifecycle_stage, "visitor")
    buyer = stage.in_(BUYER_STAGES)
    query = select(
        Contact.source,
        func.count().label("visitors"),
        func.sum(case((stage != "visitor", 1), else_=0), type_=Integer).label("leads"),
        func.sum(case((buyer, 1), else_=0), type_=Integer).label("first_order"),
        func.sum(case((buyer & (Contact.order_count >= 2), 1), else_=0), type_=Integer).label(
            "repeat_order"
        ),
        *(
            func.sum(case((stage == name, 1), else_=0), type_=Integer).label(name)
            for name in LIFECYCLE_STAGES
        ),
    ).group_by(Contact.source)
    if since is not None:
        query = query.where(Contact.created_at >= since)
    if until is not None:
        query = query.where(Contact.created_at < as_utc(until))
    query = query.where(*where)
    query = scope_contacts(query, actor).order_by(func.count().desc(), Contact.source)
    rows = session.execute(query).all()
    counted = (*STEPS, *LIFECYCLE_STAGES)
    per_source = [(row.source, {s: int(getattr(row, s) or 0) for s in counted}) for row in rows]
    by_source = [{"source": source, **_step_dict(counts)} for source, counts in per_source]
    total = {key: sum(counts[key] for _, counts in per_source) for key in counted}
    return {
        "since": isoformat(since) if since else None,
        "steps": list(STEPS),
        "total": _step_dict(total),
        "by_source": by_source,
    }
