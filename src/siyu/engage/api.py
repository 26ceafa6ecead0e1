"""REST routes for channels and campaigns; thin: parse, call the service, shape the answer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from siyu.api.deps import DbSession, Reader, Writer
from siyu.engage import campaigns, channel_service
from siyu.engage.schemas import CampaignIn, ChannelChange, ChannelIn, TestSendIn
from siyu.segments import service as segments_service
from siyu.staff.permissions import allow

router = APIRouter(tags=["reach"])


@router.get("/channels")
def list_channels(session: DbSession, actor: Reader) -> list[dict[str, Any]]:
    allow(actor, "read")
    return [channel_service.channel_dict(c) for c in channel_service.list_channels(session)]


@router.post("/channels", status_code=201)
def add_channel(body: ChannelIn, session: DbSession, actor: Writer) -> dict[str, Any]:
    channel = channel_service.add_channel(
        session, actor=actor, kind=body.kind, name=body.name, config=body.config
    )
    return channel_service.channel_dict(channel)


@router.patch("/channels/{ref}")
def change_channel(
    ref: str, body: ChannelChange, session: DbSession, actor: Writer
) -> dict[str, Any]:
    channel = channel_service.get_channel(session, ref)
    channel_service.update_channel(
        session, actor=actor, channel=channel, config=body.config, enabled=body.enabled
    )
    return channel_service.channel_dict(channel)


@router.get("/campaigns")
def list_campaigns(session: DbSession, actor: Reader) -> list[dict[str, Any]]:
    allow(actor, "read")
    return [campaigns.campaign_dict(session, c) for c in campaigns.list_campaigns(session)]


@router.post("/campaigns", status_code=201)
def create_campaign(body: CampaignIn, session: DbSession, actor: Writer) -> dict[str, Any]:
    audience: dict[str, Any] = {"query": body.query}
    if body.segment is not None:
        audience = {"segment": segments_service.get_segment(session, body.segment)}
    campaign = campaigns.create_campaign(
        session,
        actor=actor,
        name=body.name,
        channel=channel_service.get_channel(session, body.channel),
        variants=[v.model_dump() for v in body.variants],
        category=body.category,
        throttle_per_second=body.throttle_per_second,
        scheduled_at=body.scheduled_at,
        conversion_days=body.conversion_days,
        **audience,
    )
    data = campaigns.campaign_dict(session, campaign)
    if body.start:
        report = campaigns.start(session, actor=actor, campaign=campaign)
        data.update(
            state=campaign.state, recipients=report["recipients"], warnings=report["warnings"]
        )
    return data


@router.get("/campaigns/{campaign_id}")
def get_campaign(campaign_id: int, session: DbSession, actor: Reader) -> dict[str, Any]:
    allow(actor, "read")
    return campaigns.campaign_dict(session, campaigns.get_campaign(session, campaign_id))


@router.post("/campaigns/{campaign_id}/check")
def check_campaign(campaign_id: int, session: DbSession, actor: Reader) -> dict[str, Any]:
    allow(actor, "read")
    return campaigns.check(session, campaigns.get_campaign(session, campaign_id))


@router.post("/campaigns/{campaign_id}/start")
def start_campaign(campaign_id: int, session: DbSession, actor: Writer) -> dict[str, Any]:
    campaign = campaigns.get_campaign(session, campaign_id)
    report = campaigns.start(session, actor=actor, campaign=campaign)
    return {"id": campaign.id, "state": campaign.state, **report}


@router.post("/campaigns/{campaign_id}/pause")
def pause_campaign(campaign_id: int, session: DbSession, actor: Writer) -> dict[str, Any]:
    campaign = campaigns.pause(
        session, actor=actor, campaign=campaigns.get_campaign(session, campaign_id)
    )
    return {"id": campaign.id, "state": campaign.state}


@router.post("/campaigns/{campaign_id}/resume")
def resume_campaign(campaign_id: int, session: DbSession, actor: Writer) -> dict[str, Any]:
    campaign = campaigns.get_campaign(session, campaign_id)
    return {"id": campaign.id, **campaigns.resume(session, actor=actor, campaign=campaign)}


@router.post("/campaigns/{campaign_id}/cancel")
def cancel_campaign(campaign_id: int, session: DbSession, actor: Writer) -> dict[str, Any]:
    campaign = campaigns.get_campaign(session, campaign_id)
    cancelled = campaigns.cancel(session, actor=actor, campaign=campaign)
    return {"id": campaign.id, "state": campaign.state, "cancelled": cancelled}


@router.post("/campaigns/{campaign_id}/resend-unknown")
def resend_unknown(campaign_id: int, session: DbSession, actor: Writer) -> dict[str, Any]:
    campaign = campaigns.get_campaign(session, campaign_id)
    return {
        "id": campaign.id,
        "queued": campaigns.resend_unknown(session, actor=actor, campaign=campaign),
    }


@router.post("/campaigns/{campaign_id}/test")
def test_send(
    campaign_id: int, body: TestSendIn, session: DbSession, actor: Writer
) -> dict[str, Any]:
    return campaigns.test_send(
        session,
        actor=actor,
        campaign=campaigns.get_campaign(session, campaign_id),
        address=body.to,
        contact_ref=body.contact,
        variant=body.variant,
    )


@router.get("/campaigns/{campaign_id}/stats")
def campaign_stats(campaign_id: int, session: DbSession, actor: Reader) -> dict[str, Any]:
    allow(actor, "read")
    return campaigns.stats(session, campaigns.get_campaign(session, campaign_id))
