"""Reach jobs: a campaign's start writes its recipients' messages when it is due."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from siyu.engage import campaigns
from siyu.engage.models import EngageCampaign
from siyu.worker.models import Job
from siyu.worker.runner import handler


@handler(campaigns.START_JOB)
def start_campaign(session: Session, job: Job, engine: Engine) -> dict[str, Any]:
    campaign = session.get(EngageCampaign, int(job.payload["campaign_id"]))
    if campaign is None:
        return {"skipped": "the campaign was deleted"}
    added = campaigns.materialize(session, campaign)
    return {"campaign_id": campaign.id, "messages": added, "state": campaign.state}
