"""A campaign's statistics: messages per state and rule, clicks, and the orders it brought
(a paid order within the window goes to the last message before it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from siyu.contacts.models import PURCHASE_STATUSES, ContactOrder
from siyu.engage.audience import variants_of
from siyu.engage.models import EngageCampaign, EngageMessage


def plus_days(session: Session, column: Any, days: int) -> Any:
    """A stored time plus whole days, in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return column + func.make_interval(0, 0, 0, days)
    # SQLite keeps times as text; strftime keeps the microseconds the stored text has.
    return func.strftime("%Y-%m-%d %H:%M:%f000", column, f"+{days} days")


def stats(session: Session, campaign: EngageCampaign) -> dict[str, Any]:
    """Counts per state (suppressions per rule), clicks, and conversions with revenue, for
    the whole campaign and per variant."""
    by_state = session.execute(
        select(EngageMessage.content_id, EngageMessage.state, EngageMessage.rule, func.count())
        .where(EngageMessage.campaign_id == campaign.id)
        .group_by(EngageMessage.content_id, EngageMessage.state, EngageMessage.rule)
    ).all()
    clicked = dict(
        session.execute(
            select(EngageMessage.content_id, func.count())
            .where(EngageMessage.campaign_id == campaign.id, EngageMessage.clicks > 0)
            .group_by(EngageMessage.content_id)
        ).all()
    )
    conversions = _conversions(session, campaign)
    variants = variants_of(session, campaign)

    def totals(content_ids: set[int]) -> dict[str, Any]:
        counts = {
            "recipients": 0,
            "queued": 0,
            "delayed": 0,
            "sending": 0,
            "sent": 0,
            "failed": 0,
            "suppressed": 0,
            "unknown": 0,
            "cancelled": 0,
        }
        rules: dict[str, int] = {}
        for content_id, state, rule, count in by_state:
            if content_id not in content_ids:
                continue
            counts["recipients"] += count
            counts[state] = counts.get(state, 0) + count
            if state == "suppressed":
                rules[rule or "other"] = rules.get(rule or "other", 0) + count
        # Messages waiting for quiet hours to end are queued too; `delayed` says how many.
        counts["queued"] += counts["delayed"]
        converted = [conversions.get(i, (0, 0)) for i in content_ids]
        return {
            **counts,
            "suppressed_by_rule": rules,
            "clicked": sum(clicked.get(i, 0) for i in content_ids),
            "converted": sum(c for c, _ in converted),
            "revenue": sum(r for _, r in converted),
        }

    whole = totals({v.id for v in variants})
    # Messages the provider accepted; their delivery to the handset or inbox is not reported
    # back by SMTP, so `delivered` is what was accepted.
    whole["delivered"] = whole["sent"]
    return {
        "id": campaign.id,
        "name": campaign.name,
        "state": campaign.state,
        **whole,
        "conversion_days": campaign.conversion_days,
        "variants": [{"name": v.name, "percent": v.percent, **totals({v.id})} for v in variants],
    }


def _conversions(session: Session, campaign: EngageCampaign) -> dict[int, tuple[int, int]]:
    """content id → (messages converted, revenue in fen): a paid order within the
    campaign's days after the message, with no later message to the contact before it."""
    message = aliased(EngageMessage)
    later = aliased(EngageMessage)
    order = ContactOrder
    until = plus_days(session, message.sent_at, campaign.conversion_days)
    newer = (
        select(later.id)
        .where(
            later.contact_id == message.contact_id,
            later.state == "sent",
            later.id != message.id,
            later.sent_at > message.sent_at,
            later.sent_at < order.placed_at,
        )
        .exists()
    )
    rows = session.execute(
        select(
            message.content_id,
            func.count(func.distinct(message.id)),
            func.coalesce(func.sum(order.paid_amount), 0),
        )
        .join(order, order.contact_id == message.contact_id)
        .where(
            message.campaign_id == campaign.id,
            message.state == "sent",
            order.status.in_(PURCHASE_STATUSES),
            order.placed_at > message.sent_at,
            order.placed_at <= until,
            ~newer,
        )
        .group_by(message.content_id)
    ).all()
    return {content_id: (int(count), int(revenue)) for content_id, count, revenue in rows}


def summaries(session: Session, chosen: Sequence[EngageCampaign]) -> dict[int, dict[str, int]]:
    """Sent, clicked and converted per campaign, for a list: one grouped query for the
    messages, and the conversion query only for campaigns that sent something."""
    ids = [c.id for c in chosen]
    found = {i: {"sent": 0, "clicked": 0, "converted": 0} for i in ids}
    if not ids:
        return found
    rows = session.execute(
        select(
            EngageMessage.campaign_id,
            func.count().filter(EngageMessage.state == "sent"),
            func.count().filter(EngageMessage.clicks > 0),
        )
        .where(EngageMessage.campaign_id.in_(ids))
        .group_by(EngageMessage.campaign_id)
    ).all()
    for campaign_id, sent, clicked in rows:
        found[campaign_id].update(sent=int(sent), clicked=int(clicked))
    for campaign in chosen:
        if found[campaign.id]["sent"]:
            converted = _conversions(session, campaign)
            found[campaign.id]["converted"] = sum(count for count, _ in converted.values())
    return found
