"""The pool at a glance: size, growth by source and platform, repurchase, recent revenue.

The figures the console's home page shows; all aggregates run in the database.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from siyu.config import get_settings
from siyu.contacts.models import PURCHASE_STATUSES, Contact, ContactOrder
from siyu.db.types import utcnow
from siyu.kit.actor import Actor
from siyu.kit.timeutil import isoformat, local_zone
from siyu.staff.permissions import allow, scope_contacts

GROWTH_MONTHS = 12


def _month(session: Session, column: Any) -> ColumnElement[str]:
    """`YYYY-MM` of a stored UTC time, in the merchant's zone (SIYU_TIMEZONE)."""
    hours = int(
        (utcnow().astimezone(local_zone()).utcoffset() or timedelta()).total_seconds() // 3600
    )
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(local_zone().key, column), "YYYY-MM")
    return func.strftime("%Y-%m", column, f"{hours:+d} hours")


def overview(session: Session, *, actor: Actor, now: datetime | None = None) -> dict[str, Any]:
    allow(actor, "read")
    now = now or utcnow()
    contacts = scope_contacts(
        select(
            Contact.id,
            Contact.source,
            Contact.platforms,
            Contact.order_count,
            Contact.created_at,
            Contact.first_order_at,
        ),
        actor,
    ).subquery()
    # A customer joined the pool at their first order, or when first recorded if they never bought.
    joined = func.coalesce(contacts.c.first_order_at, contacts.c.created_at)
    totals = session.execute(
        select(
            func.count(),
            func.count().filter(joined >= now - timedelta(days=7), joined <= now),
            func.count().filter(contacts.c.order_count >= 1),
            func.count().filter(contacts.c.order_count >= 2),
        ).select_from(contacts)
    ).one()
    pool, new_this_week, buyers, repeat_buyers = totals
    since = now - timedelta(days=31 * GROWTH_MONTHS)
    month = _month(session, joined).label("month")
    growth = [
        {"month": m, "source": source, "new_contacts": count}
        for m, source, count in session.execute(
            select(month, contacts.c.source, func.count())
            .where(joined >= since)
            .group_by(month, contacts.c.source)
            .order_by(month, contacts.c.source)
        )
    ]
    revenue = [
        {"platform": platform, "orders": orders, "revenue": int(amount or 0)}
        for platform, orders, amount in session.execute(
            select(
                ContactOrder.platform,
                func.count(),
                func.sum(ContactOrder.paid_amount - ContactOrder.refunded_amount),
            )
            .where(
                ContactOrder.placed_at >= now - timedelta(days=30),
                ContactOrder.placed_at <= now,
                ContactOrder.status.in_(PURCHASE_STATUSES),
                # Summed in the base currency only, as the contacts' rollups are.
                ContactOrder.currency == get_settings().currency,
                ContactOrder.contact_id.in_(select(contacts.c.id)),
            )
            .group_by(ContactOrder.platform)
            .order_by(ContactOrder.platform)
        )
    ]
    by_platform = session.execute(
        select(ContactOrder.platform, func.count(func.distinct(ContactOrder.contact_id)))
        .where(
            ContactOrder.status.in_(PURCHASE_STATUSES),
            ContactOrder.contact_id.in_(select(contacts.c.id)),
        )
        .group_by(ContactOrder.platform)
        .order_by(ContactOrder.platform)
    ).all()
    return {
        "as_of": isoformat(now),
        "pool_size": pool,
        "new_this_week": new_this_week,
        "buyers": buyers,
        "repeat_buyers": repeat_buyers,
        # Share of buyers with two or more orders.
        "repurchase_rate": round(repeat_buyers / buyers, 4) if buyers else None,
        "growth_by_source": growth,
        "buyers_by_platform": [{"platform": p, "buyers": n} for p, n in by_platform],
        "revenue_30d_by_platform": revenue,
        "revenue_30d": sum(r["revenue"] for r in revenue),
    }
