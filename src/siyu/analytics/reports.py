"""The reports: each a service the API, the CLI and the console dashboards call alike.

Figures from purchases come from the snapshot (analytics.purchases) and say when it was read
(`as_of`); the rest is SQL. A finished report is kept for as long as its snapshot, under its
scope and the reader's reach (staff who see only their own customers get their own), so a
dashboard opened again answers from memory.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, literal, or_, select
from sqlalchemy.orm import Session

from siyu.analytics import figures, purchases, returns, spend
from siyu.analytics.funnel import funnel
from siyu.analytics.scope import CONTACT, Scope, contact_filter, local_month
from siyu.db.types import utcnow
from siyu.ingest.inbound.models import ChannelCode, InboundSubmission
from siyu.kit.actor import Actor
from siyu.kit.timeutil import isoformat
from siyu.staff.permissions import allow, owns_only

REPORTS = ("dashboard", "cohorts", "acquisition", "returns")
_KEPT = 64
_kept: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
_kept_lock = threading.Lock()


def _remembered(
    name: str, session: Session, actor: Actor, scope: Scope, work: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    snapshot = purchases.snapshot(session)
    reach = actor.staff_id if owns_only(actor) else None
    key = (name, str(session.get_bind().engine.url), scope.key(), reach, snapshot.read_at)
    with _kept_lock:
        if key in _kept:
            _kept.move_to_end(key)
            return _kept[key]
    result = {
        "scope": scope.describe(),
        "as_of": isoformat(snapshot.read_at),
        "orders_read": len(snapshot),
        **work(),
    }
    with _kept_lock:
        _kept[key] = result
        while len(_kept) > _KEPT:
            _kept.popitem(last=False)
    return result


def forget() -> None:
    """Read the orders again for the next report: after an import, or when asked."""
    purchases.forget()
    forget_reports()


def forget_reports() -> None:
    """Work the reports out again from the orders already read."""
    with _kept_lock:
        _kept.clear()


def _last_day(session: Session) -> int:
    """Where windows and cohorts end: the last day with a purchase, or today if earlier — a
    pool whose orders were last imported in October is not read as losing everyone since."""
    today = purchases.to_day(utcnow())
    found = purchases.snapshot(session)
    return min(today, int(found.day.max())) if len(found) else today


def dashboard(session: Session, *, actor: Actor, scope: Scope) -> dict[str, Any]:
    """Repurchase, frequency, order value, gaps, new and returning revenue, revenue by
    platform and by owned channel, pool growth by source and channel code, the funnel."""
    allow(actor, "read")

    def work() -> dict[str, Any]:
        rows = purchases.scoped(session, scope, actor)
        everything = purchases.scoped(session, scope, actor, timed=False)
        return {
            **_repurchase_figures(session, scope, rows, everything),
            "days_between_orders": figures.gaps(rows),
            "new_and_returning": figures.new_and_returning(everything, scope),
            "revenue_by_month": figures.revenue_by_month(rows),
            "revenue_by_channel": returns.revenue_by_channel(session, actor=actor, scope=scope),
            "growth": growth(session, actor=actor, scope=scope),
            "funnel": funnel(
                session,
                actor=actor,
                since=scope.since,
                until=scope.until,
                where=contact_filter(scope, None, CONTACT.c.id),
            ),
        }

    return _remembered("dashboard", session, actor, scope, work)


def cohorts(session: Session, *, actor: Actor, scope: Scope) -> dict[str, Any]:
    """Monthly acquisition cohorts: retention and cumulative revenue per customer."""
    allow(actor, "read")

    def work() -> dict[str, Any]:
        everything = purchases.scoped(session, scope, actor, timed=False)
        return figures.cohorts(everything, scope, last_day=_last_day(session))

    return _remembered("cohorts", session, actor, scope, work)


def repurchase(session: Session, *, actor: Actor, scope: Scope) -> dict[str, Any]:
    """The repurchase figures alone: overall, per platform and within N days."""
    allow(actor, "read")

    def work() -> dict[str, Any]:
        rows = purchases.scoped(session, scope, actor)
        everything = purchases.scoped(session, scope, actor, timed=False)
        return _repurchase_figures(session, scope, rows, everything)

    return _remembered("repurchase", session, actor, scope, work)


def _repurchase_figures(
    session: Session, scope: Scope, rows: purchases.Purchases, everything: purchases.Purchases
) -> dict[str, Any]:
    """Shared by the dashboard and the repurchase report: `rows` are the range's purchases,
    `everything` the scope's at any date (first purchases lie before ranges)."""
    return {
        "summary": figures.summary(rows),
        "by_platform": figures.by_platform(rows),
        "repurchase_within": figures.repurchase_within(
            everything, scope, last_day=_last_day(session)
        ),
    }


def growth(session: Session, *, actor: Actor, scope: Scope) -> dict[str, Any]:
    """New contacts per month by source, and by the channel code they signed up through; with
    platforms chosen, the contacts who bought on one of them."""
    month = local_month(session, CONTACT.c.created_at).label("month")
    where = list(contact_filter(scope, actor, CONTACT.c.id))
    if scope.platforms:
        listed = literal(",") + CONTACT.c.platforms + literal(",")
        where.append(or_(*(listed.like(f"%,{p},%") for p in scope.platforms)))
    if scope.since is not None:
        where.append(CONTACT.c.created_at >= scope.since)
    if scope.until is not None:
        where.append(CONTACT.c.created_at < scope.until)
    by_source = [
        {"month": m, "source": source or "", "contacts": int(count)}
        for m, source, count in session.execute(
            select(month, CONTACT.c.source, func.count())
            .where(*where)
            .group_by(month, CONTACT.c.source)
            .order_by(month, CONTACT.c.source)
        )
    ]
    by_code = [
        {"month": m, "code": code, "name": name, "contacts": int(count)}
        for m, code, name, count in session.execute(
            select(
                month, ChannelCode.code, ChannelCode.name, func.count(func.distinct(CONTACT.c.id))
            )
            .join(InboundSubmission, InboundSubmission.contact_id == CONTACT.c.id)
            .join(ChannelCode, ChannelCode.id == InboundSubmission.channel_code_id)
            .where(*where)
            .group_by(month, ChannelCode.code, ChannelCode.name)
            .order_by(month, ChannelCode.code)
        )
    ]
    return {"by_source": by_source, "by_channel_code": by_code}


def acquisition(session: Session, *, actor: Actor, scope: Scope) -> dict[str, Any]:
    """Spend, customers acquired and cost per customer per channel; and what a repeat sale
    through owned channels costs against buying the customer again on a platform."""
    allow(actor, "read")
    found = spend.acquisition(session, actor=actor, scope=scope)
    platform_cost, basis = spend.platform_cost_per_customer(session, found["by_channel"])
    campaign_rows = returns.campaign_returns(session, actor=actor, scope=scope)
    journey_rows = returns.journey_returns(session, actor=actor, scope=scope)
    owned_cost = sum(r["cost"] for r in campaign_rows + journey_rows)
    owned_sales = sum(r["converted"] for r in campaign_rows + journey_rows)
    return {
        "scope": scope.describe(),
        **found,
        "repeat_sale": {
            "owned_cost": owned_cost,
            "owned_sales": owned_sales,
            "owned_cost_per_sale": round(owned_cost / owned_sales) if owned_sales else None,
            "platform_cost_per_customer": platform_cost,
            "platform_cost_basis": basis,
        },
    }


def returns_report(session: Session, *, actor: Actor, scope: Scope) -> dict[str, Any]:
    """Campaigns and journeys: revenue credited against cost."""
    allow(actor, "read")
    return {
        "scope": scope.describe(),
        "campaigns": returns.campaign_returns(session, actor=actor, scope=scope),
        "journeys": returns.journey_returns(session, actor=actor, scope=scope),
    }
