"""Imports every model so Base.metadata knows the whole schema (Alembic, tests)."""

from siyu.analytics.clv.models import ClvFit, ClvPrediction
from siyu.analytics.models import MarketingSpend, RfmScore
from siyu.audit.models import AuditEvent
from siyu.contacts.models import (
    Contact,
    ContactAlias,
    ContactConsent,
    ContactConsentChange,
    ContactIdentity,
    ContactLifecycleTransition,
    ContactMerge,
    ContactNote,
    ContactOrder,
    ContactOrderLine,
    ContactTagLink,
    Tag,
)
from siyu.db.base import Base
from siyu.engage.journeys.models import (
    EngageJourney,
    EngageJourneyCursor,
    EngageJourneyEnrolment,
    EngageJourneyStepLog,
)
from siyu.engage.models import (
    EngageCampaign,
    EngageChannel,
    EngageClick,
    EngageContent,
    EngageMessage,
    EngageSuppression,
)
from siyu.events.models import Event, EventGroup, EventGroupMember, EventSource
from siyu.growth.coupons.models import GrowthCoupon, GrowthCouponDefinition
from siyu.ingest.inbound.models import (
    ChannelCode,
    ChannelCodeScan,
    InboundForm,
    InboundPage,
    InboundSubmission,
)
from siyu.ingest.inbound.models_links import InboundLink, InboundLinkClick
from siyu.ingest.models import ImportBatch, ImportRowError
from siyu.segments.models import Segment, SegmentMember, SegmentMembership, SegmentPendingContact
from siyu.staff.models import ApiKey, StaffUser
from siyu.worker.models import Job, WorkerProcess

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Base",
    "ChannelCode",
    "ChannelCodeScan",
    "ClvFit",
    "ClvPrediction",
    "Contact",
    "ContactAlias",
    "ContactConsent",
    "ContactConsentChange",
    "ContactIdentity",
    "ContactLifecycleTransition",
    "ContactMerge",
    "ContactNote",
    "ContactOrder",
    "ContactOrderLine",
    "ContactTagLink",
    "EngageCampaign",
    "EngageChannel",
    "EngageClick",
    "EngageContent",
    "EngageJourney",
    "EngageJourneyCursor",
    "EngageJourneyEnrolment",
    "EngageJourneyStepLog",
    "EngageMessage",
    "EngageSuppression",
    "Event",
    "EventGroup",
    "EventGroupMember",
    "EventSource",
    "GrowthCoupon",
    "GrowthCouponDefinition",
    "ImportBatch",
    "ImportRowError",
    "InboundForm",
    "InboundLink",
    "InboundLinkClick",
    "InboundPage",
    "InboundSubmission",
    "Job",
    "MarketingSpend",
    "RfmScore",
    "Segment",
    "SegmentMember",
    "SegmentMembership",
    "SegmentPendingContact",
    "StaffUser",
    "Tag",
    "WorkerProcess",
]
