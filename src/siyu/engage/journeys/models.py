"""Journeys, each contact's walk through one (an enrolment), what happened at every step, and
where the trigger readers have got to in the tables they follow.

An enrolment moves through states:

    active ─► waiting ─► active ─► … ─► completed     walked off the end of the steps
       │         │                   ├► exited        an exit step, or its step was removed
       │         │                   ├► goal_reached  the goal held before a step
       └─────────┴───────────────────└► failed        a step could not run (reason kept)

`step` is the step an active enrolment runs next, or the wait a waiting one is in; `wake_at`
is when the engine looks at it again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db.base import Base, BigId, IdMixin, TimestampMixin
from siyu.db.types import JSONType, UTCDateTime, utcnow

JOURNEY_STATES = ("draft", "active", "paused", "archived")
ENROLMENT_STATES = ("active", "waiting", "completed", "exited", "goal_reached", "failed")
# States of an enrolment the engine still moves on.
LIVE_STATES = ("active", "waiting")


class EngageJourney(IdMixin, TimestampMixin, Base):
    __tablename__ = "engage_journey"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    # The checked definition (journeys.definition), as JSON.
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Goes up with every change of the definition; enrolments note the one they walk.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(64), default="system")
    # The last switch-on: triggers before it enrol nobody.
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EngageJourneyEnrolment(IdMixin, Base):
    __tablename__ = "engage_journey_enrolment"
    __table_args__ = (
        UniqueConstraint("journey_id", "contact_id", "run"),
        # The engine's claim: the live enrolments that are due, oldest first.
        Index("ix_engage_journey_enrolment_state_wake_at", "state", "wake_at"),
        Index("ix_engage_journey_enrolment_journey_id_state", "journey_id", "state"),
        Index("ix_engage_journey_enrolment_contact_id", "contact_id"),
    )

    journey_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("engage_journey.id", ondelete="CASCADE")
    )
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contact.id", ondelete="CASCADE"))
    # 1 for a contact's first walk through the journey, 2 for the next (re-entry), …
    run: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(16), default="active")
    step: Mapped[str | None] = mapped_column(String(64))
    wake_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    exit_reason: Mapped[str | None] = mapped_column(Text)


class EngageJourneyStepLog(IdMixin, Base):
    """One thing that happened to one enrolment at one step: the statistics are counts of these.

    No foreign key to the enrolment: a contact merged away takes its enrolments with it, and
    what happened still counts.
    """

    __tablename__ = "engage_journey_step_log"
    __table_args__ = (
        Index("ix_engage_journey_step_log_journey_id_step", "journey_id", "step"),
        Index("ix_engage_journey_step_log_enrolment_id", "enrolment_id"),
    )

    enrolment_id: Mapped[int] = mapped_column(BigId)
    journey_id: Mapped[int] = mapped_column(BigId)
    step: Mapped[str] = mapped_column(String(64))
    # entered, sent, already_sent, waited, branch_yes, branch_no, tagged, untagged, assigned,
    # webhook, coupon_issued, coupon_already_issued, coupon_not_issued, exited, goal_reached,
    # failed
    outcome: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EngageJourneyCursor(Base):
    """How far a reader has got: the last event or order id the triggers read, the last local
    day a date trigger fired on, whether a fixed-date journey has fired, a round robin's turn."""

    __tablename__ = "engage_journey_cursor"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
