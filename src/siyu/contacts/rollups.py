"""Per-contact rollups (order count, spend, refunds, first/last order, platforms).

Recomputed from the orders for exactly the contacts a write touched, so they are always current
and never drift: the aggregate runs in the database, grouped by contact and platform; Python only
folds the few platform subtotals of each contact together.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.config import get_settings
from siyu.contacts.models import PURCHASE_STATUSES, Contact, ContactOrder
from siyu.db.bulk import update_rows
from siyu.kit.chunks import chunked


def recompute(session: Session, contact_ids: Iterable[int]) -> None:
    ids = sorted(set(contact_ids))
    currency = get_settings().currency
    order = ContactOrder.__table__
    contact = Contact.__table__
    for batch in chunked(ids, 2000):
        totals: dict[int, dict[str, Any]] = {
            cid: {
                "count": 0,
                "paid": 0,
                "refunded": 0,
                "first": None,
                "last": None,
                "platforms": set(),
            }
            for cid in batch
        }
        rows = session.execute(
            select(
                order.c.contact_id,
                order.c.platform,
                func.count(),
                func.coalesce(func.sum(order.c.paid_amount), 0),
                func.coalesce(func.sum(order.c.refunded_amount), 0),
                func.min(order.c.placed_at).label("first"),
                func.max(order.c.placed_at).label("last"),
            )
            .where(
                order.c.contact_id.in_(batch),
                order.c.status.in_(PURCHASE_STATUSES),
                # Rollups are in the base currency; other currencies are kept on the orders.
                order.c.currency == currency,
            )
            .group_by(order.c.contact_id, order.c.platform)
        )
        for contact_id, platform, count, paid, refunded, first, last in rows:
            total = totals[contact_id]
            total["count"] += count
            total["paid"] += int(paid)
            total["refunded"] += int(refunded)
            total["first"] = _min(total["first"], first)
            total["last"] = _max(total["last"], last)
            total["platforms"].add(platform)
        rows = []
        for cid, total in totals.items():
            spent = total["paid"] - total["refunded"]
            count = total["count"]
            rows.append(
                {
                    "order_count": count,
                    "total_spent": spent,
                    "refunded_amount": total["refunded"],
                    "average_order_value": round(spent / count) if count else 0,
                    "first_order_at": total["first"],
                    "last_order_at": total["last"],
                    "platforms": ",".join(sorted(total["platforms"])),
                    "id": cid,
                }
            )
        update_rows(session, contact, rows)


def _min(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)
