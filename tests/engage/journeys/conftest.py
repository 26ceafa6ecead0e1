"""Journey test helpers: channels, people, orders and a clock the tests move by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.contacts import lifecycle, rollups
from siyu.contacts import service as contacts
from siyu.contacts.models import Contact, ContactOrder
from siyu.engage.journeys import engine, service, triggers
from siyu.engage.journeys.models import EngageJourney, EngageJourneyEnrolment
from siyu.engage.models import EngageChannel, EngageMessage
from siyu.kit.actor import Actor
from siyu.segments import membership

CLI = Actor.cli()
START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Monday


@dataclass
class Clock:
    now: datetime = START

    def move(self, **span: float) -> datetime:
        self.now += timedelta(**span)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_channel(session: Session, name: str = "邮件", kind: str = "email", **values: Any) -> int:
    channel = EngageChannel(name=name, kind=kind, config={}, **values)
    session.add(channel)
    session.flush()
    return channel.id


def person(session: Session, number: int, **values: Any) -> Contact:
    return contacts.create_contact(
        session, actor=CLI, identities=[f"phone:1380013{number:04d}"], **values
    )


def order(session: Session, contact_id: int, placed_at: datetime, *, now: datetime) -> None:
    """A paid order as an import stores it, with the rollups and stage it brings."""
    number = session.scalar(select(func.count()).select_from(ContactOrder)) or 0
    session.add(
        ContactOrder(
            contact_id=contact_id,
            platform="taobao",
            platform_order_id=f"T{number + 1:05d}-{contact_id}",
            status="paid",
            total_amount=10000,
            paid_amount=10000,
            placed_at=placed_at,
            created_at=now,
            updated_at=now,
        )
    )
    session.flush()
    rollups.recompute(session, [contact_id])
    lifecycle.refresh(session, contact_ids=[contact_id], now=now)
    session.expire_all()


@dataclass
class World:
    """Runs what the worker runs, at the clock's time."""

    session: Session
    clock: Clock
    log: list[str] = field(default_factory=list)

    def tick(self, **span: float) -> datetime:
        """Move the clock, then: segments look at changed contacts, triggers read, the engine
        walks whoever is due (twice: a second pass must change nothing)."""
        now = self.clock.move(**span) if span else self.clock.now
        membership.process_pending(self.session, now=now)
        later = now + triggers.SETTLE + timedelta(seconds=1)
        triggers.read_events(self.session, now=later)
        triggers.read_orders(self.session, now=later)
        triggers.run_clock(self.session, now=later)
        while engine.advance(self.session, now=later):
            pass
        return now

    def messages(self, journey: EngageJourney) -> list[tuple[str, int]]:
        """(step, contact) of every queued message of the journey."""
        rows = self.session.execute(
            select(EngageMessage.key, EngageMessage.contact_id)
            .where(EngageMessage.journey_id == journey.id)
            .order_by(EngageMessage.id)
        )
        return [(key.split(":")[2], contact) for key, contact in rows]

    def enrolments(self, journey: EngageJourney) -> dict[int, list[tuple[str, str | None]]]:
        """contact → [(state, step) of each run]."""
        rows = self.session.execute(
            select(EngageJourneyEnrolment.contact_id, EngageJourneyEnrolment.state,
                   EngageJourneyEnrolment.step)
            .where(EngageJourneyEnrolment.journey_id == journey.id)
            .order_by(EngageJourneyEnrolment.run)
        )  # fmt: skip
        found: dict[int, list[tuple[str, str | None]]] = {}
        for contact, state, step in rows:
            found.setdefault(contact, []).append((state, step))
        return found


@pytest.fixture
def world(session: Session, clock: Clock) -> World:
    return World(session, clock)


def journey(
    session: Session, definition: dict[str, Any], *, now: datetime, name: str = "测试旅程"
) -> EngageJourney:
    made = service.create_journey(session, actor=CLI, name=name, definition=definition)
    return service.activate(session, actor=CLI, journey=made, now=now)
