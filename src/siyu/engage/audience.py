"""Who a campaign reaches and what it says: its audience as a select of contact ids, its
variants, and the recipient a preview is written for."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.contacts.models import Contact
from siyu.db.types import utcnow
from siyu.engage.models import EngageCampaign, EngageContent
from siyu.errors import Invalid
from siyu.segments import service as segments_service
from siyu.segments.models import SegmentMember


def variants_of(session: Session, campaign: EngageCampaign) -> list[EngageContent]:
    return list(
        session.scalars(
            select(EngageContent)
            .where(EngageContent.campaign_id == campaign.id)
            .order_by(EngageContent.id)
        )
    )


def recipients_of(
    session: Session, campaign: EngageCampaign, now: datetime
) -> tuple[Any, Any, dict]:
    """(select of contact ids, the id column, bound parameters)."""
    if campaign.segment_id is not None:
        member = SegmentMember.contact_id
        return select(member).where(SegmentMember.segment_id == campaign.segment_id), member, {}
    if campaign.definition is None:
        raise Invalid(f"campaign {campaign.id} has no audience: its segment was deleted")
    _, _, compiled = segments_service.read_query(session, definition=campaign.definition)
    return select(Contact.id).where(compiled.condition), Contact.id, compiled.params(now)


def first_recipient(
    session: Session, campaign: EngageCampaign, now: datetime | None = None
) -> int | None:
    """The audience's lowest contact id: who a preview or test send is written for by default."""
    audience, member, params = recipients_of(session, campaign, now or utcnow())
    found = session.scalar(audience.order_by(member).limit(1), params)
    return int(found) if found is not None else None
