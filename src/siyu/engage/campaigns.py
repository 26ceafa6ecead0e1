"""Campaigns: one send to a segment through one channel, with A/B variants, a throttle, a
schedule, pause and cancel, and statistics down to the revenue it brought.

Starting a campaign writes a job (outbox) that runs at its scheduled time and creates every
recipient's message in one INSERT … SELECT, keyed per (campaign, contact) so a re-run adds
nobody twice; the dispatcher then sends them under the rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, case, cast, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from siyu.audit import service as audit
from siyu.db.types import utcnow
from siyu.engage import channel_service, templates

# The campaign's whole face for the API, CLI and console: checks and statistics live in
# modules of their own.
from siyu.engage.audience import first_recipient, recipients_of, variants_of
from siyu.engage.campaign_check import check
from siyu.engage.campaign_stats import stats, summaries
from siyu.engage.channels.base import Delivery, Outgoing
from siyu.engage.models import (
    MESSAGE_CATEGORIES,
    EngageCampaign,
    EngageChannel,
    EngageContent,
    EngageMessage,
)
from siyu.errors import Conflict, Invalid, NotFound
from siyu.kit.actor import Actor
from siyu.segments import service as segments_service
from siyu.segments.models import Segment
from siyu.staff.permissions import allow
from siyu.worker.queue import enqueue

# The API, CLI and console reach campaigns through this module; the check, the statistics
# and the audience live in modules of their own and are offered here too.
__all__ = [
    "START_JOB",
    "campaign_dict",
    "cancel",
    "check",
    "create_campaign",
    "first_recipient",
    "get_campaign",
    "list_campaigns",
    "materialize",
    "pause",
    "preview_content",
    "resend_unknown",
    "resume",
    "start",
    "stats",
    "summaries",
    "test_send",
    "variants_of",
]

START_JOB = "engage.campaign_start"
# Multiplicative hashing spreads consecutive ids over the A/B buckets.
_SPREAD = 2654435761


def create_campaign(
    session: Session,
    *,
    actor: Actor,
    name: str,
    channel: EngageChannel,
    variants: Sequence[dict[str, Any]],
    segment: Segment | None = None,
    query: str | None = None,
    category: str = "marketing",
    throttle_per_second: int | None = None,
    scheduled_at: datetime | None = None,
    conversion_days: int = 7,
) -> EngageCampaign:
    """A draft campaign. `variants`: dicts of name, percent, subject, body, template_code,
    params, defaults; the percents add up to 100."""
    allow(actor, "reach")
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise Invalid("a campaign's name is 1 to 200 characters")
    if category not in MESSAGE_CATEGORIES:
        raise Invalid(f"category must be one of {', '.join(MESSAGE_CATEGORIES)}, not {category!r}")
    if throttle_per_second is not None and throttle_per_second < 1:
        raise Invalid("throttle: at least 1 message per second, or none")
    if not 0 <= conversion_days <= 365:
        raise Invalid("conversion days: 0 to 365")
    if (segment is None) == (query is None):
        raise Invalid("a campaign goes to a segment or to a query, one of them")
    definition = None
    if query is not None:
        definition, query, _ = segments_service.read_query(session, query=query)
    campaign = EngageCampaign(
        name=name,
        channel_id=channel.id,
        category=category,
        segment_id=segment.id if segment else None,
        query=query,
        definition=definition,
        throttle_per_second=throttle_per_second,
        scheduled_at=scheduled_at,
        conversion_days=conversion_days,
        created_by=actor.label,
    )
    session.add(campaign)
    session.flush()
    _set_variants(session, campaign, variants)
    audit.record(
        session,
        actor=actor.label,
        action="campaign.create",
        subject_type="campaign",
        subject_id=campaign.id,
        name=name,
    )
    return campaign


def _set_variants(
    session: Session, campaign: EngageCampaign, variants: Sequence[dict[str, Any]]
) -> None:
    if not variants:
        raise Invalid("a campaign needs its message: a body (and a subject for email)")
    names = [str(v.get("name") or chr(ord("A") + i)) for i, v in enumerate(variants)]
    if len(set(names)) != len(names):
        raise Invalid("each variant needs a name of its own")
    percents = [int(v.get("percent", 100 if len(variants) == 1 else 0)) for v in variants]
    if any(p < 1 for p in percents) or sum(percents) != 100:
        raise Invalid(
            f"the variants' percentages must each be at least 1 and add up to 100, "
            f"not {' + '.join(map(str, percents))}"
        )
    for name, percent, variant in zip(names, percents, variants, strict=True):
        for field in ("subject", "body"):
            if variant.get(field):
                templates.compile_template(str(variant[field]), f"variant {name}, {field}")
        session.add(
            EngageContent(
                campaign_id=campaign.id,
                name=name,
                percent=percent,
                subject=variant.get("subject"),
                body=str(variant.get("body") or ""),
                template_code=variant.get("template_code"),
                params=dict(variant.get("params") or {}),
                defaults=dict(variant.get("defaults") or {}),
            )
        )
    session.flush()


def get_campaign(session: Session, campaign_id: int | str) -> EngageCampaign:
    text = str(campaign_id).strip()
    found = session.get(EngageCampaign, int(text)) if text.isdigit() else None
    if found is None:
        raise NotFound(f"no campaign {text}")
    return found


def list_campaigns(session: Session, *, limit: int = 100) -> list[EngageCampaign]:
    return list(
        session.scalars(select(EngageCampaign).order_by(EngageCampaign.id.desc()).limit(limit))
    )


# --- starting, pausing, cancelling -------------------------------------------------------


def start(
    session: Session, *, actor: Actor, campaign: EngageCampaign, now: datetime | None = None
) -> dict[str, Any]:
    """Check, then schedule the campaign (now, or at its scheduled time)."""
    allow(actor, "reach")
    now = now or utcnow()
    if campaign.state not in ("draft", "paused") or campaign.started_at is not None:
        if campaign.state == "paused":
            return resume(session, actor=actor, campaign=campaign)
        raise Conflict(f"campaign {campaign.id} is {campaign.state}; only a draft can start")
    report = check(session, campaign, now=now)
    if not report["ok"]:
        raise Invalid("the campaign cannot start: " + "; ".join(report["errors"]))
    at = max(campaign.scheduled_at or now, now)
    campaign.scheduled_at = at
    campaign.state = "scheduled"
    job = enqueue(
        session, kind=START_JOB, payload={"campaign_id": campaign.id}, created_by=actor.label
    )
    job.run_after = at
    session.flush()
    audit.record(
        session,
        actor=actor.label,
        action="campaign.start",
        subject_type="campaign",
        subject_id=campaign.id,
        scheduled_at=at.isoformat(),
    )
    return {**report, "scheduled_at": at}


def materialize(session: Session, campaign: EngageCampaign, *, now: datetime | None = None) -> int:
    """Create every recipient's message (the start job); returns how many were added."""
    now = now or utcnow()
    if campaign.state != "scheduled":
        return 0  # paused or cancelled before its time
    audience, member, params = recipients_of(session, campaign, now)
    variants = variants_of(session, campaign)
    bucket = func.abs((member * _SPREAD) % 100)
    whens, upper = [], 0
    for variant in variants[:-1]:
        upper += variant.percent
        whens.append((bucket < upper, variant.id))
    content = case(*whens, else_=variants[-1].id) if whens else literal(variants[-1].id)
    source = audience.with_only_columns(
        literal(f"campaign:{campaign.id}:") + cast(member, String),
        literal(campaign.id),
        content,
        literal(campaign.channel_id),
        member,
        literal(campaign.category),
        literal("queued"),
        literal(now, EngageMessage.send_after.type),
        literal(0),
        literal(now, EngageMessage.created_at.type),
        literal(0),
    )
    columns = [
        "key",
        "campaign_id",
        "content_id",
        "channel_id",
        "contact_id",
        "category",
        "state",
        "send_after",
        "attempts",
        "created_at",
        "clicks",
    ]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(EngageMessage)
        .from_select(columns, source)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    added = session.execute(statement, params).rowcount or 0
    total = session.scalar(select(func.count()).where(EngageMessage.campaign_id == campaign.id))
    session.execute(
        update(EngageCampaign)
        .where(EngageCampaign.id == campaign.id)
        .values(state="running", started_at=now, recipients=int(total or 0))
    )
    return int(added)


def pause(session: Session, *, actor: Actor, campaign: EngageCampaign) -> EngageCampaign:
    allow(actor, "reach")
    if campaign.state not in ("scheduled", "running"):
        raise Conflict(f"campaign {campaign.id} is {campaign.state}; it cannot be paused")
    campaign.state = "paused"
    session.flush()
    audit.record(
        session,
        actor=actor.label,
        action="campaign.pause",
        subject_type="campaign",
        subject_id=campaign.id,
    )
    return campaign


def resume(session: Session, *, actor: Actor, campaign: EngageCampaign) -> dict[str, Any]:
    allow(actor, "reach")
    if campaign.state != "paused":
        raise Conflict(f"campaign {campaign.id} is {campaign.state}, not paused")
    if campaign.started_at is None:  # paused before its recipients were written
        campaign.state = "scheduled"
        job = enqueue(
            session,
            kind=START_JOB,
            payload={"campaign_id": campaign.id},
            created_by=actor.label,
        )
        job.run_after = max(campaign.scheduled_at or utcnow(), utcnow())
    else:
        campaign.state = "running"
    session.flush()
    audit.record(
        session,
        actor=actor.label,
        action="campaign.resume",
        subject_type="campaign",
        subject_id=campaign.id,
    )
    return {"state": campaign.state}


def cancel(session: Session, *, actor: Actor, campaign: EngageCampaign) -> int:
    """Stop for good; messages not yet sent are cancelled. Returns how many."""
    allow(actor, "reach")
    if campaign.state in ("done", "cancelled"):
        raise Conflict(f"campaign {campaign.id} is {campaign.state} already")
    campaign.state = "cancelled"
    campaign.finished_at = utcnow()
    cancelled = session.execute(
        update(EngageMessage)
        .where(
            EngageMessage.campaign_id == campaign.id,
            EngageMessage.state.in_(("queued", "delayed")),
        )
        .values(state="cancelled", reason="the campaign was cancelled")
    ).rowcount
    session.flush()
    audit.record(
        session,
        actor=actor.label,
        action="campaign.cancel",
        subject_type="campaign",
        subject_id=campaign.id,
        cancelled=cancelled,
    )
    return int(cancelled or 0)


def resend_unknown(
    session: Session, *, actor: Actor, campaign: EngageCampaign, now: datetime | None = None
) -> int:
    """The operator's choice: send again the messages a stopped worker may not have sent."""
    allow(actor, "reach")
    now = now or utcnow()
    changed = session.execute(
        update(EngageMessage)
        .where(EngageMessage.campaign_id == campaign.id, EngageMessage.state == "unknown")
        .values(state="queued", send_after=now, sent_at=None, claimed_by=None)
    ).rowcount
    if changed and campaign.state == "done":
        campaign.state = "running"
        campaign.finished_at = None
    session.flush()
    audit.record(
        session,
        actor=actor.label,
        action="campaign.resend_unknown",
        subject_type="campaign",
        subject_id=campaign.id,
        messages=changed,
    )
    return int(changed or 0)


# --- a test send to staff ----------------------------------------------------------------


def test_send(
    session: Session,
    *,
    actor: Actor,
    campaign: EngageCampaign,
    address: str,
    contact_ref: str | None = None,
    variant: str | None = None,
) -> dict[str, Any]:
    """Send one variant, written for a chosen contact (or the first recipient), to a staff
    member's own address. No message row: it is nobody's campaign message."""
    allow(actor, "reach")
    from siyu.contacts import service as contacts_service

    channel = session.get_one(EngageChannel, campaign.channel_id)
    variants = variants_of(session, campaign)
    chosen = next((v for v in variants if v.name == variant), None) if variant else variants[0]
    if chosen is None:
        raise NotFound(
            f"no variant {variant!r}; the campaign has {', '.join(v.name for v in variants)}"
        )
    if contact_ref:
        contact_id = contacts_service.get_by_ref(session, contact_ref, actor).id
    else:
        contact_id = first_recipient(session, campaign)
    preview = preview_content(session, chosen, contact_id=contact_id)
    outgoing = Outgoing(
        message_id=0,
        key=f"test:{campaign.id}:{actor.label}:{utcnow().timestamp()}",
        category="transactional",
        contact_id=contact_id or 0,
        address=address.strip(),
        body=preview["body"],
        subject=(f"[TEST] {preview['subject']}" if preview.get("subject") else None),
        template_code=chosen.template_code,
        params=preview["params"],
    )
    with channel_service.plugin(channel) as plugin:
        delivery: Delivery = plugin.send(outgoing)
    audit.record(
        session,
        actor=actor.label,
        action="campaign.test_send",
        subject_type="campaign",
        subject_id=campaign.id,
        address=address,
        status=delivery.status,
    )
    return {
        "status": delivery.status,
        "reason": delivery.reason,
        "provider_id": delivery.provider_id,
        "contact_id": contact_id,
    }


def preview_content(
    session: Session, content: EngageContent, *, contact_id: int | None
) -> dict[str, Any]:
    """A content rendered for one contact, links left as written (nothing is tracked)."""
    from siyu.engage import recipients

    row: dict[str, Any] = {}
    owner = None
    if contact_id is not None:
        row = recipients.contact_rows(session, [contact_id]).get(contact_id, {})
        found = recipients.addresses(session, [contact_id], recipients.ADDRESS_KINDS)
        row["email"] = found.get((contact_id, "email"))
        row["phone"] = found.get((contact_id, "phone"))
        owner = recipients.owners(session, [row.get("owner_id")]).get(row.get("owner_id") or 0)
    context = templates.contact_context(
        row,
        owner=owner,
        defaults=content.defaults or {},
        link=str,
        unsubscribe_url="#unsubscribe",
    )
    return {
        "contact_id": contact_id,
        "subject": templates.render(content.subject, context, "subject")
        if content.subject
        else None,
        "body": templates.render(content.body or "", context),
        "params": {
            str(k): templates.render(str(v), context, f"parameter {k}")
            for k, v in (content.params or {}).items()
        },
    }


def campaign_dict(session: Session, campaign: EngageCampaign) -> dict[str, Any]:
    channel = session.get(EngageChannel, campaign.channel_id)
    segment = session.get(Segment, campaign.segment_id) if campaign.segment_id else None
    return {
        "id": campaign.id,
        "name": campaign.name,
        "state": campaign.state,
        "category": campaign.category,
        "channel": {"id": channel.id, "name": channel.name, "kind": channel.kind}
        if channel
        else None,
        "segment": {"id": segment.id, "name": segment.name} if segment else None,
        "query": campaign.query,
        "recipients": campaign.recipients,
        "throttle_per_second": campaign.throttle_per_second,
        "conversion_days": campaign.conversion_days,
        "scheduled_at": campaign.scheduled_at.isoformat() if campaign.scheduled_at else None,
        "started_at": campaign.started_at.isoformat() if campaign.started_at else None,
        "finished_at": campaign.finished_at.isoformat() if campaign.finished_at else None,
        "created_by": campaign.created_by,
        "variants": [
            {
                "name": v.name,
                "percent": v.percent,
                "subject": v.subject,
                "body": v.body,
                "template_code": v.template_code,
                "params": v.params,
                "defaults": v.defaults,
            }
            for v in variants_of(session, campaign)
        ],
    }
