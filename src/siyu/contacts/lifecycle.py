"""Lifecycle stages (lead to deal), stored on the contact and kept current in SQL.

- `visitor`: known only by an anonymous id from web or app tracking;
- `lead`: known by something that reaches a person (a phone, an e-mail, a WeChat id, a user
  id sent by identify or a form, a shop account), no purchase yet;
- `new_customer`: one purchase (an order paid on any shop, as the rollups count it);
- `repeat`: two or more; `loyal`: SIYU_LIFECYCLE_LOYAL_ORDERS or more;
- `at_risk`: a buyer without an order for more than SIYU_LIFECYCLE_AT_RISK_GAPS times their
  usual gap between orders; `churned`: more than SIYU_LIFECYCLE_CHURNED_GAPS times it, or
  more than SIYU_LIFECYCLE_CHURN_HORIZON_DAYS days, whatever the gap.

The usual gap is the mean of the days between a buyer's orders, (last - first) / (orders - 1),
which the rollups already hold, so no order is read; at least SIYU_LIFECYCLE_MIN_GAP_DAYS (two
orders on one day mean no habit). A buyer of one order has SIYU_LIFECYCLE_DEFAULT_GAP_DAYS.

Each change writes a `contact_lifecycle_transition` row; a contact's first row has no
`from_stage`. `refresh` works for the contacts a write touched (identities, orders, merges);
`sweep`, run by the clock, moves the buyers whom time alone has moved.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from siyu.config import get_settings
from siyu.contacts.models import LIFECYCLE_STAGES, Contact, ContactLifecycleTransition
from siyu.db.bulk import utc_text
from siyu.db.types import utcnow
from siyu.kit.chunks import chunked
from siyu.kit.timeutil import isoformat
from siyu.segments import pending

STAGES = LIFECYCLE_STAGES

# Days from a stored time to :now, as a real number.
_DAYS = {
    "sqlite": "(julianday(:now) - julianday({column}))",
    "postgresql": "(EXTRACT(EPOCH FROM (CAST(:now AS timestamptz) - {column})) / 86400.0)",
}
_GREATEST = {"sqlite": "max", "postgresql": "greatest"}
_DIFFERS = {"sqlite": "IS NOT", "postgresql": "IS DISTINCT FROM"}
_IDS = {
    "sqlite": "IN (SELECT value FROM json_each(:ids))",
    "postgresql": "IN (SELECT unnest(CAST(:ids AS bigint[])))",
}


def stage_sql(dialect: str) -> str:
    """The stage of the contact `c` at :now, as one SQL expression (parameters: see _params)."""
    since = _DAYS[dialect].format(column="c.last_order_at")
    span = _DAYS[dialect].format(column="c.first_order_at") + " - " + since
    gap = (
        f"(CASE WHEN c.order_count >= 2 THEN {_GREATEST[dialect]}(({span}) / "
        "(c.order_count - 1), :min_gap) ELSE :default_gap END)"
    )
    return f"""CASE
        WHEN c.order_count = 0 THEN CASE WHEN EXISTS (
            SELECT 1 FROM contact_identity i
            WHERE i.contact_id = c.id AND i.kind <> 'anonymous_id') THEN 'lead' ELSE 'visitor' END
        WHEN {since} > :horizon OR {since} > :churned * {gap} THEN 'churned'
        WHEN {since} > :at_risk * {gap} THEN 'at_risk'
        WHEN c.order_count >= :loyal THEN 'loyal'
        WHEN c.order_count >= 2 THEN 'repeat'
        ELSE 'new_customer' END"""


def _params(session: Session, now: datetime) -> dict[str, Any]:
    settings = get_settings()
    sqlite = session.get_bind().dialect.name == "sqlite"
    return {
        "now": utc_text(now) if sqlite else now,
        "min_gap": settings.lifecycle_min_gap_days,
        "default_gap": settings.lifecycle_default_gap_days,
        "horizon": settings.lifecycle_churn_horizon_days,
        "churned": settings.lifecycle_churned_gaps,
        "at_risk": settings.lifecycle_at_risk_gaps,
        "loyal": settings.lifecycle_loyal_orders,
    }


def _statements(dialect: str, where: str) -> tuple[Any, Any]:
    """Record each change, then make it: two set-based statements over the contacts `where`."""
    stage = stage_sql(dialect)
    differs = _DIFFERS[dialect]
    record = text(
        f"""INSERT INTO contact_lifecycle_transition
            (contact_id, from_stage, to_stage, changed_at, reason)
        SELECT id, old_stage, new_stage, :now, :reason FROM (
            SELECT c.id AS id, c.lifecycle_stage AS old_stage, {stage} AS new_stage
            FROM contact c WHERE {where}) AS s
        WHERE new_stage {differs} old_stage"""
    )
    change = text(
        f"""UPDATE contact SET lifecycle_stage = s.new_stage
        FROM (SELECT c.id AS id, {stage} AS new_stage FROM contact c WHERE {where}) AS s
        WHERE contact.id = s.id AND contact.lifecycle_stage {differs} s.new_stage"""
    )
    return record, change


def refresh(
    session: Session,
    *,
    contact_ids: Iterable[int],
    now: datetime | None = None,
    reason: str = "orders",
) -> int:
    """Work out the stage of these contacts again; a transition row for each that changed.

    Returns how many changed. The ids travel as one parameter, as in contacts.rollups.
    """
    ids = sorted(set(contact_ids))
    if not ids:
        return 0
    dialect = session.get_bind().dialect.name
    record, change = _statements(dialect, f"c.id {_IDS[dialect]}")
    params = {**_params(session, now or utcnow()), "reason": reason}
    changed = 0
    for batch in chunked(ids, 5000):
        values = {**params, "ids": batch if dialect == "postgresql" else json.dumps(batch)}
        changed += session.execute(record, values).rowcount  # type: ignore[attr-defined]
        session.execute(change, values)
    return changed


def sweep(session: Session, *, now: datetime | None = None) -> int:
    """Move the buyers whom time has moved (to at risk, to churned); how many moved.

    One pass over the buyers in SQL: the stages that only orders change are already current,
    and time alone never moves a churned buyer (only an order does), so those are skipped.
    """
    dialect = session.get_bind().dialect.name
    record, change = _statements(
        dialect,
        "c.order_count > 0 AND (c.lifecycle_stage IS NULL OR c.lifecycle_stage <> 'churned')",
    )
    at = now or utcnow()
    params = {**_params(session, at), "reason": "sweep"}
    changed: int = session.execute(record, params).rowcount  # type: ignore[attr-defined]
    session.execute(change, params)
    if changed:
        # Segments on the stage follow: the contacts this sweep moved are looked at again.
        moved = session.scalars(
            select(ContactLifecycleTransition.contact_id).where(
                ContactLifecycleTransition.changed_at == at,
                ContactLifecycleTransition.reason == "sweep",
            )
        )
        pending.mark(session, list(moved))
    return changed


def stage(session: Session, contact: Contact) -> str:
    """The stored stage; worked out on the spot, and not stored, for a contact whose stage
    was never worked out (a read must not write: it would contend for SQLite's lock)."""
    if contact.lifecycle_stage is not None:
        return contact.lifecycle_stage
    dialect = session.get_bind().dialect.name
    found = session.execute(
        text(f"SELECT {stage_sql(dialect)} FROM contact c WHERE c.id = :id"),
        {**_params(session, utcnow()), "id": contact.id},
    ).scalar()
    return found or "visitor"


def history(session: Session, contact_id: int, *, limit: int = 20) -> list[dict[str, Any]]:
    """The contact's latest stage changes, newest first."""
    rows = session.execute(
        select(ContactLifecycleTransition)
        .where(ContactLifecycleTransition.contact_id == contact_id)
        .order_by(
            ContactLifecycleTransition.changed_at.desc(), ContactLifecycleTransition.id.desc()
        )
        .limit(limit)
    ).scalars()
    return [
        {
            "from_stage": row.from_stage,
            "to_stage": row.to_stage,
            "changed_at": isoformat(row.changed_at),
            "reason": row.reason,
        }
        for row in rows
    ]


def usual_gap_days(
    order_count: int, first_order_at: datetime | None, last_order_at: datetime | None
) -> float:
    """A buyer's usual days between orders, as stage_sql counts it (for reorder reminders)."""
    settings = get_settings()
    if order_count >= 2 and first_order_at is not None and last_order_at is not None:
        span = (last_order_at - first_order_at).total_seconds() / 86400
        return max(span / (order_count - 1), settings.lifecycle_min_gap_days)
    return settings.lifecycle_default_gap_days
