"""The three ready journeys, each made on a channel, switched on and walked end to end."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.contacts import lifecycle
from siyu.contacts.models import Contact
from siyu.engage.journeys import ready, service
from siyu.engage.journeys.models import EngageJourneyEnrolment
from siyu.engage.models import EngageContent
from siyu.errors import NotFound
from siyu.segments.models import Segment
from tests.engage.journeys.conftest import CLI, World, make_channel, order, person


def switched_on(session: Session, world: World, key: str, channel: int) -> ready.EngageJourney:
    made = ready.create_ready(session, actor=CLI, key=key, channel_id=channel)
    assert made.state == "draft"
    return service.activate(session, actor=CLI, journey=made, now=world.clock.now)


def test_welcome_series_for_new_leads(session: Session, world: World) -> None:
    channel = make_channel(session)
    flow = switched_on(session, world, "welcome", channel)
    assert session.scalar(select(Segment.query).where(Segment.name == "新线索")) == 'stage = "lead"'
    bodies = session.scalars(select(EngageContent.body).where(EngageContent.journey_id == flow.id))
    assert all("contact.name" in body for body in bodies)
    wang, li = person(session, 1, name="王芳"), person(session, 2, name="李伟")
    world.tick(seconds=10)
    assert world.messages(flow) == [("welcome", wang.id), ("welcome", li.id)]
    order(session, wang.id, world.clock.move(days=1), now=world.clock.now)
    world.tick(days=1, hours=1)
    assert world.messages(flow)[2:] == [("second", li.id)]
    assert world.enrolments(flow) == {
        wang.id: [("exited", "ordered")],
        li.id: [("completed", None)],
    }


def test_win_back_ends_when_the_customer_orders(session: Session, world: World) -> None:
    channel = make_channel(session)
    flow = switched_on(session, world, "win_back", channel)
    wang, li = person(session, 1), person(session, 2)
    # Two orders a month apart, then more than two months of silence: both are at risk.
    for contact in (wang, li):
        order(session, contact.id, world.clock.now - timedelta(days=100), now=world.clock.now)
        order(session, contact.id, world.clock.now - timedelta(days=70), now=world.clock.now)
    assert session.get_one(Contact, wang.id).lifecycle_stage == "at_risk"
    world.tick(seconds=10)
    assert world.messages(flow) == [("miss_you", wang.id), ("miss_you", li.id)]
    order(session, wang.id, world.clock.move(days=1), now=world.clock.now)
    world.tick(days=2, hours=1)
    world.tick(days=8)
    assert [m for m in world.messages(flow) if m[1] == wang.id] == [("miss_you", wang.id)]
    assert [s for s, _ in world.messages(flow) if _ == li.id] == ["miss_you", "offer", "last_call"]
    assert world.enrolments(flow)[wang.id] == [("goal_reached", "offer")]


def test_repurchase_reminder_at_each_buyers_own_pace(session: Session, world: World) -> None:
    channel = make_channel(session)
    flow = switched_on(session, world, "repurchase", channel)
    wang = person(session, 1)
    # A habit of an order every 20 days.
    order(session, wang.id, world.clock.now - timedelta(days=40), now=world.clock.now)
    order(session, wang.id, world.clock.now - timedelta(days=20), now=world.clock.now)
    order(session, wang.id, world.clock.now, now=world.clock.now)
    contact = session.get_one(Contact, wang.id)
    gap = lifecycle.usual_gap_days(
        contact.order_count, contact.first_order_at, contact.last_order_at
    )
    assert gap == pytest.approx(20)
    world.tick(seconds=10)
    row = session.scalars(select(EngageJourneyEnrolment)).one()
    # 17 days after the order, at 10:00 in Shanghai (02:00 UTC).
    assert row.state == "waiting" and row.wake_at == contact.last_order_at.replace(
        hour=2, minute=0, second=0, microsecond=0
    ) + timedelta(days=17)
    world.tick(days=17, minutes=1)
    assert world.messages(flow) == [("reminder", wang.id)]
    # The customer orders again: this walk reaches its goal and the order starts the next one.
    order(session, wang.id, world.clock.move(days=1), now=world.clock.now)
    world.tick(seconds=10)
    assert world.enrolments(flow)[wang.id] == [
        ("goal_reached", "wait_5d"),
        ("waiting", "until_due"),
    ]
    world.tick(days=10)
    assert world.messages(flow) == [("reminder", wang.id)]


def test_ready_needs_a_known_name_and_channel(session: Session) -> None:
    with pytest.raises(NotFound):
        ready.create_ready(session, actor=CLI, key="nope", channel_id=1)
    with pytest.raises(NotFound):
        ready.create_ready(session, actor=CLI, key="welcome", channel_id=999)
