"""Marketing spend per channel and month, and what a customer costs.

Spend is entered per month and channel (console form, CSV, CLI, API). A channel names where
customers came from in the words of `contact.source` (`taobao`, `douyin`, `form` …) or a
channel code (`code:SPRING`); `campaign:ID` and `journey:ID` carry costs of reach beyond its
messages. Acquisition cost per channel and month = spend ÷ customers whose first purchase fell
in that month and who came from that channel.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from siyu.analytics.models import MarketingSpend
from siyu.analytics.scope import CONTACT, Scope, contact_filter, local_month
from siyu.audit import service as audit
from siyu.config import get_settings
from siyu.errors import Invalid, NotFound
from siyu.ingest.inbound.models import ChannelCode, InboundSubmission
from siyu.kit.actor import Actor
from siyu.kit.normalize import parse_money
from siyu.kit.timeutil import local_zone
from siyu.staff.permissions import allow

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
CHANNEL = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
CSV_COLUMNS = ("month", "channel", "amount", "note")
# Spend on these channels buys customers on a platform: their cost is the one a repeat sale
# through owned channels is compared with.
PLATFORM_CHANNELS = ("taobao", "tmall", "jd", "douyin", "pinduoduo", "youzan")


def check_month(text: str, where: str = "month") -> str:
    text = (text or "").strip()
    if not MONTH.match(text):
        raise Invalid(f"{where}: {text!r} is not a month like 2026-11")
    return text


def check_channel(text: str, where: str = "channel") -> str:
    text = (text or "").strip()
    if not CHANNEL.match(text):
        raise Invalid(
            f"{where}: {text!r} is not a channel name (letters, digits and _ . : - only, "
            "e.g. douyin or code:SPRING)"
        )
    return text


def set_spend(
    session: Session,
    *,
    actor: Actor,
    month: str,
    channel: str,
    amount: int,
    note: str = "",
) -> MarketingSpend:
    """Enter what was spent; the same month and channel again replaces the amount."""
    allow(actor, "reach")
    month, channel = check_month(month), check_channel(channel)
    if amount < 0:
        raise Invalid("amount: spend cannot be negative")
    found = session.scalar(
        select(MarketingSpend).where(
            MarketingSpend.month == month, MarketingSpend.channel == channel
        )
    )
    before = None if found is None else found.amount
    if found is None:
        found = MarketingSpend(month=month, channel=channel, created_by=actor.label)
        session.add(found)
    found.amount, found.note = amount, (note or "").strip()[:500]
    found.currency = get_settings().currency
    session.flush()
    audit.record(
        session,
        actor=actor.label,
        action="spend.set",
        subject_type="marketing_spend",
        subject_id=found.id,
        month=month,
        channel=channel,
        amount=amount,
        before=before,
    )
    return found


def delete_spend(session: Session, *, actor: Actor, spend_id: int) -> None:
    allow(actor, "reach")
    found = session.get(MarketingSpend, spend_id)
    if found is None:
        raise NotFound(f"spend entry {spend_id} does not exist")
    audit.record(
        session,
        actor=actor.label,
        action="spend.delete",
        subject_type="marketing_spend",
        subject_id=spend_id,
        month=found.month,
        channel=found.channel,
        amount=found.amount,
    )
    session.execute(delete(MarketingSpend).where(MarketingSpend.id == spend_id))


def list_spend(
    session: Session, *, actor: Actor, since: str | None = None, until: str | None = None
) -> list[dict[str, Any]]:
    """Entries from month `since` to month `until`, both included."""
    allow(actor, "read")
    query = select(MarketingSpend).order_by(MarketingSpend.month.desc(), MarketingSpend.channel)
    if since:
        query = query.where(MarketingSpend.month >= check_month(since, "since"))
    if until:
        query = query.where(MarketingSpend.month <= check_month(until, "until"))
    return [spend_dict(s) for s in session.scalars(query)]


def spend_dict(spend: MarketingSpend) -> dict[str, Any]:
    return {
        "id": spend.id,
        "month": spend.month,
        "channel": spend.channel,
        "amount": spend.amount,
        "currency": spend.currency,
        "note": spend.note,
        "created_by": spend.created_by,
    }


@dataclass
class SpendImport:
    saved: int = 0
    problems: list[str] = field(default_factory=list)


def import_csv(session: Session, *, actor: Actor, text: str, where: str = "CSV") -> SpendImport:
    """Rows `month,channel,amount[,note]` (amount in yuan, ¥ and commas allowed). Every valid
    row is saved; each bad one is named by its line and left out."""
    allow(actor, "reach")
    result = SpendImport()
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    for number, row in enumerate(reader, start=1):
        if not row or not any(cell.strip() for cell in row):
            continue
        cells = [cell.strip() for cell in row]
        if number == 1 and cells[0].lower() in ("month", "月份"):
            continue  # a header
        line = f"{where} line {number}"
        if len(cells) < 3:
            result.problems.append(f"{line}: expected month,channel,amount[,note]")
            continue
        try:
            amount = parse_money(cells[2])
            if amount is None:
                raise ValueError("no amount")
            set_spend(
                session,
                actor=actor,
                month=check_month(cells[0], f"{line}, month"),
                channel=check_channel(cells[1], f"{line}, channel"),
                amount=amount,
                note=cells[3] if len(cells) > 3 else "",
            )
        except ValueError as error:
            result.problems.append(f"{line}, amount: {error}")
            continue
        except Invalid as error:
            result.problems.append(
                error.message if line in error.message else f"{line}: {error.message}"
            )
            continue
        result.saved += 1
    return result


def spend_by(session: Session, *, months: set[str] | None = None) -> dict[tuple[str, str], int]:
    """(month, channel) → fen."""
    query = select(MarketingSpend.month, MarketingSpend.channel, MarketingSpend.amount)
    if months is not None:
        query = query.where(MarketingSpend.month.in_(sorted(months)))
    return {(m, c): int(a) for m, c, a in session.execute(query)}


def acquisition(session: Session, *, actor: Actor, scope: Scope) -> dict[str, Any]:
    """Per month and channel: spend, customers acquired (first purchase that month) and the
    cost of each. Channels are contact sources and channel codes (`code:…`)."""
    allow(actor, "read")
    first_month = local_month(session, CONTACT.c.first_order_at).label("month")
    where = [CONTACT.c.first_order_at.is_not(None), *contact_filter(scope, actor, CONTACT.c.id)]
    if scope.since is not None:
        where.append(CONTACT.c.first_order_at >= scope.since)
    if scope.until is not None:
        where.append(CONTACT.c.first_order_at < scope.until)
    acquired: dict[tuple[str, str], int] = defaultdict(int)
    for month, source, count in session.execute(
        select(first_month, CONTACT.c.source, func.count())
        .where(*where)
        .group_by(first_month, CONTACT.c.source)
    ):
        acquired[(month, source or "")] += int(count)
    # A channel code brought the customers whose sign-up came through it.
    coded = (
        select(first_month, ChannelCode.code, func.count(func.distinct(CONTACT.c.id)))
        .join(InboundSubmission, InboundSubmission.contact_id == CONTACT.c.id)
        .join(ChannelCode, ChannelCode.id == InboundSubmission.channel_code_id)
        .where(*where)
        .group_by(first_month, ChannelCode.code)
    )
    for month, code, count in session.execute(coded):
        acquired[(month, f"code:{code}")] += int(count)
    spent = {k: v for k, v in spend_by(session).items() if _month_in(k[0], scope)}
    rows = []
    for month, channel in sorted(
        set(acquired) | {k for k in spent if not k[1].startswith(("campaign:", "journey:"))}
    ):
        customers = acquired.get((month, channel), 0)
        amount = spent.get((month, channel))
        rows.append(
            {
                "month": month,
                "channel": channel,
                "spend": amount,
                "customers": customers,
                "cost_per_customer": round(amount / customers)
                if amount is not None and customers
                else None,
            }
        )
    totals: dict[str, dict[str, int]] = defaultdict(lambda: {"spend": 0, "customers": 0})
    for row in rows:
        totals[row["channel"]]["customers"] += row["customers"]
        totals[row["channel"]]["spend"] += row["spend"] or 0
    by_channel = [
        {
            "channel": channel,
            **values,
            "cost_per_customer": round(values["spend"] / values["customers"])
            if values["customers"] and values["spend"]
            else None,
        }
        for channel, values in sorted(totals.items())
    ]
    return {"by_month": rows, "by_channel": by_channel}


def _month_in(month: str, scope: Scope) -> bool:
    zone = local_zone()
    if scope.since is not None and month < scope.since.astimezone(zone).strftime("%Y-%m"):
        return False
    if scope.until is not None:
        last = (scope.until - timedelta(microseconds=1)).astimezone(zone).strftime("%Y-%m")
        if month > last:
            return False
    return True


def platform_cost_per_customer(
    session: Session, by_channel: list[dict[str, Any]]
) -> tuple[int, str]:
    """What buying a customer on a platform costs: from the spend entered on platform
    channels when there is some, else SIYU_PLATFORM_ACQUISITION_COST (¥300 by default)."""
    spend = sum(r["spend"] for r in by_channel if r["channel"] in PLATFORM_CHANNELS)
    customers = sum(
        r["customers"] for r in by_channel if r["channel"] in PLATFORM_CHANNELS and r["spend"]
    )
    if spend and customers:
        return round(spend / customers), "spend"
    return get_settings().platform_acquisition_cost, "setting"
