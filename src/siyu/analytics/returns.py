"""What owned channels earn: revenue credited to messages, and each campaign's and journey's
return against what it cost.

A purchase is credited to the last message sent to the buyer before it, when it came within
the window (a campaign's own conversion days; SIYU_ATTRIBUTION_DAYS for channels and journeys):
one purchase, one message, so channels never count the same revenue twice. A campaign's
cost is its sent messages at the channel's price per message (SIYU_MESSAGE_COSTS) plus any
spend entered under `campaign:ID` (`journey:ID` for journeys).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from siyu.analytics.models import MarketingSpend
from siyu.analytics.scope import Scope, contact_filter, purchase_filter
from siyu.config import get_settings
from siyu.contacts.models import ContactOrder
from siyu.engage.campaign_stats import plus_days, stats
from siyu.engage.journeys.models import EngageJourney
from siyu.engage.models import EngageCampaign, EngageChannel, EngageMessage
from siyu.errors import Invalid
from siyu.kit.actor import Actor
from siyu.staff.permissions import allow


def message_costs() -> dict[str, Decimal]:
    """Channel kind → price of one message in fen, from SIYU_MESSAGE_COSTS (yuan)."""
    costs: dict[str, Decimal] = {}
    for item in get_settings().message_costs.split(","):
        if not item.strip():
            continue
        kind, _, amount = item.partition("=")
        try:
            costs[kind.strip()] = Decimal(amount.strip()) * 100
        except InvalidOperation:
            raise Invalid(
                f"SIYU_MESSAGE_COSTS: {item.strip()!r} is not kind=yuan, e.g. aliyun_sms=0.045"
            ) from None
    return costs


def _credited(session: Session, scope: Scope, actor: Actor | None, days: int) -> Any:
    """Purchases in the scope joined to the message credited with each (see above)."""
    message, later = aliased(EngageMessage), aliased(EngageMessage)
    order = ContactOrder.__table__
    newer = (
        select(later.id)
        .where(
            later.contact_id == message.contact_id,
            later.state == "sent",
            later.sent_at > message.sent_at,
            later.sent_at < order.c.placed_at,
        )
        .exists()
    )
    where = [
        message.state == "sent",
        order.c.placed_at > message.sent_at,
        order.c.placed_at <= plus_days(session, message.sent_at, days),
        ~newer,
        *purchase_filter(scope),
        *contact_filter(scope, actor),
    ]
    return message, order, where


def revenue_by_channel(session: Session, *, actor: Actor, scope: Scope) -> list[dict[str, Any]]:
    """Per owned channel (email, SMS, WeCom …): purchases credited to its messages."""
    allow(actor, "read")
    days = get_settings().attribution_days
    message, order, where = _credited(session, scope, actor, days)
    rows = session.execute(
        select(
            EngageChannel.kind,
            EngageChannel.name,
            func.count(func.distinct(order.c.id)),
            func.coalesce(func.sum(order.c.paid_amount - order.c.refunded_amount), 0),
        )
        .select_from(message)
        .join(order, order.c.contact_id == message.contact_id)
        .join(EngageChannel, EngageChannel.id == message.channel_id)
        .where(*where)
        .group_by(EngageChannel.kind, EngageChannel.name)
        .order_by(EngageChannel.kind, EngageChannel.name)
    ).all()
    return [
        {"kind": kind, "channel": name, "orders": int(orders), "revenue": int(revenue)}
        for kind, name, orders, revenue in rows
    ]


def _extra_spend(session: Session, prefix: str) -> dict[int, int]:
    found: dict[int, int] = {}
    for channel, amount in session.execute(
        select(MarketingSpend.channel, func.sum(MarketingSpend.amount))
        .where(MarketingSpend.channel.like(f"{prefix}:%"))
        .group_by(MarketingSpend.channel)
    ):
        ref = channel.partition(":")[2]
        if ref.isdigit():
            found[int(ref)] = int(amount)
    return found


def _sent_by_kind(session: Session, group: Any, ids: list[int]) -> dict[int, dict[str, int]]:
    found: dict[int, dict[str, int]] = {}
    for owner, kind, sent in session.execute(
        select(group, EngageChannel.kind, func.count())
        .join(EngageChannel, EngageChannel.id == EngageMessage.channel_id)
        .where(group.in_(ids), EngageMessage.state == "sent")
        .group_by(group, EngageChannel.kind)
    ):
        found.setdefault(int(owner), {})[kind] = int(sent)
    return found


def _cost(sent: dict[str, int], extra: int, prices: dict[str, Decimal]) -> int:
    messages = sum(count * prices.get(kind, Decimal(0)) for kind, count in sent.items())
    return round(messages) + extra


def _return(revenue: int, cost: int) -> float | None:
    return (revenue - cost) / cost if cost else None


def campaign_returns(session: Session, *, actor: Actor, scope: Scope) -> list[dict[str, Any]]:
    """Every campaign that sent in the scope's dates: revenue credited, cost and return."""
    allow(actor, "read")
    sent_in = select(EngageMessage.campaign_id).where(
        EngageMessage.state == "sent", EngageMessage.campaign_id.is_not(None)
    )
    if scope.since is not None:
        sent_in = sent_in.where(EngageMessage.sent_at >= scope.since)
    if scope.until is not None:
        sent_in = sent_in.where(EngageMessage.sent_at < scope.until)
    chosen = list(
        session.scalars(
            select(EngageCampaign)
            .where(EngageCampaign.id.in_(sent_in.distinct()))
            .order_by(EngageCampaign.id.desc())
        )
    )
    prices, extra = message_costs(), _extra_spend(session, "campaign")
    sent = _sent_by_kind(session, EngageMessage.campaign_id, [c.id for c in chosen])
    found = []
    for campaign in chosen:
        figures = stats(session, campaign)
        cost = _cost(sent.get(campaign.id, {}), extra.get(campaign.id, 0), prices)
        revenue = int(figures["revenue"])
        found.append(
            {
                "id": campaign.id,
                "name": campaign.name,
                "sent": sum(sent.get(campaign.id, {}).values()),
                "converted": int(figures["converted"]),
                "revenue": revenue,
                "cost": cost,
                "return": _return(revenue, cost),
            }
        )
    return found


def journey_returns(session: Session, *, actor: Actor, scope: Scope) -> list[dict[str, Any]]:
    """Every journey that sent: purchases credited to its messages, cost and return."""
    allow(actor, "read")
    days = get_settings().attribution_days
    message, order, where = _credited(session, scope, actor, days)
    credited = {
        int(journey): (int(orders), int(revenue))
        for journey, orders, revenue in session.execute(
            select(
                message.journey_id,
                func.count(func.distinct(order.c.id)),
                func.coalesce(func.sum(order.c.paid_amount - order.c.refunded_amount), 0),
            )
            .select_from(message)
            .join(order, order.c.contact_id == message.contact_id)
            .where(message.journey_id.is_not(None), *where)
            .group_by(message.journey_id)
        )
    }
    journeys = list(session.scalars(select(EngageJourney).order_by(EngageJourney.id)))
    prices, extra = message_costs(), _extra_spend(session, "journey")
    sent = _sent_by_kind(session, EngageMessage.journey_id, [j.id for j in journeys])
    found = []
    for journey in journeys:
        if journey.id not in sent and journey.id not in credited:
            continue
        orders, revenue = credited.get(journey.id, (0, 0))
        cost = _cost(sent.get(journey.id, {}), extra.get(journey.id, 0), prices)
        found.append(
            {
                "id": journey.id,
                "name": journey.name,
                "sent": sum(sent.get(journey.id, {}).values()),
                "converted": orders,
                "revenue": revenue,
                "cost": cost,
                "return": _return(revenue, cost),
            }
        )
    return found
