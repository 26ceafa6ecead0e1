"""Per-contact rollups (order count, spend, refunds, first/last order, platforms).

Recomputed from the orders for exactly the contacts a write touched, so they are always current
and never drift. One UPDATE … FROM an aggregate per batch, entirely in the database.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from siyu.config import get_settings
from siyu.contacts import lifecycle
from siyu.contacts.models import PURCHASE_STATUSES
from siyu.kit.chunks import chunked
from siyu.segments import pending

# PostgreSQL: orders per contact and platform first, then per contact, the platforms sorted.
_PER_PLATFORM = """
    SELECT contact_id, platform, count(*) AS n, sum(paid_amount) AS paid,
           sum(refunded_amount) AS refunded, min(placed_at) AS first, max(placed_at) AS last
    FROM contact_order
    WHERE contact_id {ids} AND status IN :statuses AND currency = :currency
    GROUP BY contact_id, platform
"""
_AGGREGATE_POSTGRES = f"""
    SELECT contact_id, sum(n) AS n, sum(paid) - sum(refunded) AS spent,
           sum(refunded) AS refunded,
           round((sum(paid) - sum(refunded))::numeric / sum(n))::bigint AS average,
           min(first) AS first, max(last) AS last,
           string_agg(platform, ',' ORDER BY platform) AS platforms
    FROM ({_PER_PLATFORM}) AS per
    GROUP BY contact_id
"""
# SQLite: one pass in the order of the (contact_id, placed_at) index, which needs no sorting
# (after a large import, sorting was most of the work). Only a contact with orders on several
# platforms reads them again, for the sorted list: group_concat keeps the order of its rows.
_AGGREGATE_SQLITE = """
    SELECT contact_id, count(*) AS n, sum(paid_amount) - sum(refunded_amount) AS spent,
           sum(refunded_amount) AS refunded,
           CAST(round((sum(paid_amount) - sum(refunded_amount)) * 1.0 / count(*)) AS INTEGER)
               AS average,
           min(placed_at) AS first, max(placed_at) AS last,
           CASE WHEN min(platform) = max(platform) THEN min(platform) ELSE (
               SELECT group_concat(platform, ',') FROM (
                   SELECT DISTINCT platform FROM contact_order AS other
                   WHERE other.contact_id = contact_order.contact_id
                   AND other.status IN :statuses AND other.currency = :currency
                   ORDER BY platform)
           ) END AS platforms
    FROM contact_order
    WHERE contact_id {ids} AND status IN :statuses AND currency = :currency
    GROUP BY contact_id
"""
_AGGREGATE = {"sqlite": _AGGREGATE_SQLITE, "postgresql": _AGGREGATE_POSTGRES}
_UPDATE = """
    UPDATE contact SET
        order_count = agg.n, total_spent = agg.spent, refunded_amount = agg.refunded,
        average_order_value = agg.average, first_order_at = agg.first,
        last_order_at = agg.last, platforms = agg.platforms
    FROM ({aggregate}) AS agg
    WHERE contact.id = agg.contact_id
"""
# Contacts left without a qualifying order (all cancelled, moved away by a merge) go to zero.
_RESET = """
    UPDATE contact SET order_count = 0, total_spent = 0, refunded_amount = 0,
        average_order_value = 0, first_order_at = NULL, last_order_at = NULL, platforms = ''
    WHERE id {ids} AND NOT EXISTS (
        SELECT 1 FROM contact_order o WHERE o.contact_id = contact.id
        AND o.status IN :statuses AND o.currency = :currency)
"""


def recompute(session: Session, contact_ids: Iterable[int]) -> None:
    ids = sorted(set(contact_ids))
    if not ids:
        return
    dialect = session.get_bind().dialect.name
    # The ids travel as one parameter (see siyu.db.sql.one_of): an array on PostgreSQL, JSON
    # read by json_each on SQLite.
    postgres = dialect == "postgresql"
    ids_sql = (
        "IN (SELECT unnest(CAST(:ids AS bigint[])))"
        if postgres
        else "IN (SELECT value FROM json_each(:ids))"
    )
    update = text(_UPDATE.format(aggregate=_AGGREGATE[dialect].format(ids=ids_sql))).bindparams(
        bindparam("statuses", expanding=True)
    )
    reset = text(_RESET.format(ids=ids_sql)).bindparams(bindparam("statuses", expanding=True))
    params = {"statuses": list(PURCHASE_STATUSES), "currency": get_settings().currency}
    # SQLite runs each statement's aggregate for a batch as a whole, and after a large import
    # (hundreds of thousands of contacts) few large batches cost less than many.
    for batch in chunked(ids, 5000 if postgres else 50_000):
        values = batch if postgres else json.dumps(batch)
        session.execute(update, {**params, "ids": values})
        session.execute(reset, {**params, "ids": values})
    lifecycle.refresh(session, contact_ids=ids)
    pending.mark(session, ids)
