"""The engine end to end: a trigger enrols, waits wait, branches go both ways, messages are
queued once however often the engine runs, goals end walks, re-entry rules hold."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.contacts import service as contacts
from siyu.contacts.models import Contact
from siyu.contacts.tags import tags_of
from siyu.engage.journeys import engine, service, triggers
from siyu.engage.journeys.models import EngageJourneyEnrolment, EngageJourneyStepLog
from siyu.engage.models import EngageContent, EngageMessage
from siyu.events import internal
from siyu.events.models import Event
from siyu.segments import service as segments
from siyu.staff import service as staff_service
from tests.engage.journeys.conftest import CLI, World, journey, make_channel, order, person


def vip_welcome(segment_id: int, channel: int, **extra: Any) -> dict[str, Any]:
    return {
        "trigger": {"type": "segment_entered", "segment_id": segment_id},
        "steps": [
            {
                "id": "hello",
                "type": "send",
                "channel_id": channel,
                "body": "你好 {{ contact.name }}",
            },
            {"id": "pause", "type": "wait", "duration": "2d"},
            {
                "id": "bought",
                "type": "branch",
                "condition": "order_count >= 1",
                "yes": [{"id": "thanks", "type": "send", "channel_id": channel, "body": "谢谢"}],
                "no": [{"id": "nudge", "type": "send", "channel_id": channel, "body": "来看看"}],
            },
        ],
        **extra,
    }


def test_trigger_wait_branch_both_ways_and_messages_once(session: Session, world: World) -> None:
    channel = make_channel(session)
    vip = segments.create_segment(session, actor=CLI, name="VIP", query='tag("VIP")')
    flow = journey(session, vip_welcome(vip.id, channel), now=world.clock.now)
    wang, li = person(session, 1, name="王芳"), person(session, 2, name="李伟")
    contacts.add_tags(session, contact=wang, tags=["VIP"], actor=CLI)
    contacts.add_tags(session, contact=li, tags=["VIP"], actor=CLI)
    world.tick(seconds=10)
    assert world.messages(flow) == [("hello", wang.id), ("hello", li.id)]
    assert world.enrolments(flow) == {
        wang.id: [("waiting", "pause")],
        li.id: [("waiting", "pause")],
    }

    # A day later nothing is due; Wang buys meanwhile.
    world.tick(days=1)
    order(session, wang.id, world.clock.now, now=world.clock.now)
    assert len(world.messages(flow)) == 2
    world.tick(days=1, minutes=1)
    assert sorted(world.messages(flow)[2:]) == sorted([("thanks", wang.id), ("nudge", li.id)])
    assert world.enrolments(flow) == {wang.id: [("completed", None)], li.id: [("completed", None)]}

    # Running everything again, or a pass claiming finished walks, sends nothing more.
    world.tick(days=3)
    assert len(world.messages(flow)) == 4
    stats = {row["step"]: row for row in service.stats(session, flow)["steps"]}
    assert stats["hello"]["entered"] == 2 and stats["hello"]["sent"] == 2
    assert stats["pause"]["completed"] == 2 and stats["pause"]["waiting"] == 0
    assert (stats["bought"]["branch_yes"], stats["bought"]["branch_no"]) == (1, 1)
    assert stats["thanks"]["sent"] == stats["nudge"]["sent"] == 1


def test_a_crashed_pass_run_again_queues_no_second_message(session: Session, world: World) -> None:
    channel = make_channel(session)
    definition = {
        "trigger": {"type": "event", "name": "signed_up"},
        "steps": [{"id": "hello", "type": "send", "channel_id": channel, "body": "嗨"}],
    }
    flow = journey(session, definition, now=world.clock.now)
    wang = person(session, 1)
    engine.enrol(session, journey=flow, contact_ids=[wang.id], now=world.clock.now)
    enrolment = session.scalars(select(EngageJourneyEnrolment)).one()
    engine.advance(session, now=world.clock.now)
    # As if the pass had queued the message and died before saving where the walk stood.
    session.execute(
        EngageJourneyEnrolment.__table__.update()
        .where(EngageJourneyEnrolment.id == enrolment.id)
        .values(state="active", step="hello", wake_at=world.clock.now, finished_at=None)
    )
    engine.advance(session, now=world.clock.now)
    assert world.messages(flow) == [("hello", wang.id)]
    outcomes = session.scalars(
        select(EngageJourneyStepLog.outcome).where(EngageJourneyStepLog.step == "hello")
    ).all()
    assert sorted(outcomes) == ["already_sent", "entered", "entered", "sent"]


def test_the_goal_ends_the_walk_before_the_next_step(session: Session, world: World) -> None:
    channel = make_channel(session)
    vip = segments.create_segment(session, actor=CLI, name="VIP", query='tag("VIP")')
    flow = journey(session, vip_welcome(vip.id, channel, goal='tag("已转化")'), now=world.clock.now)
    wang, li = person(session, 1), person(session, 2)
    for contact in (wang, li):
        contacts.add_tags(session, contact=contact, tags=["VIP"], actor=CLI)
    world.tick(seconds=10)
    contacts.add_tags(session, contact=wang, tags=["已转化"], actor=CLI)
    world.tick(days=3)
    # The walk stops where the goal was found to hold: before the branch after the wait.
    assert world.enrolments(flow)[wang.id] == [("goal_reached", "bought")]
    assert ("nudge", wang.id) not in world.messages(flow)
    assert ("nudge", li.id) in world.messages(flow)
    assert service.stats(session, flow)["steps"][2]["goal_reached"] == 1


def test_the_goal_sweep_ends_long_waits_early(session: Session, world: World) -> None:
    channel = make_channel(session)
    definition = {
        "trigger": {"type": "event", "name": "signed_up"},
        "goal_new_order": True,
        "steps": [
            {"id": "long", "type": "wait", "duration": "30d"},
            {"id": "hello", "type": "send", "channel_id": channel, "body": "嗨"},
        ],
    }
    flow = journey(session, definition, now=world.clock.now)
    wang = person(session, 1)
    engine.enrol(session, journey=flow, contact_ids=[wang.id], now=world.clock.now)
    world.tick(minutes=1)
    order(session, wang.id, world.clock.move(days=2), now=world.clock.now)
    assert engine.sweep_goals(session, journey=flow, now=world.clock.now) == 1
    assert world.enrolments(flow)[wang.id] == [("goal_reached", "long")]


def _signed_up(session: Session, contact_id: int, at: Any, number: int) -> None:
    source = internal.source_id(session, prefix="test_signup", name="test")
    session.add(
        Event(
            source_id=source,
            contact_id=contact_id,
            type="track",
            name="signed_up",
            message_id=f"signup-{number}",
            properties={},
            timestamp=at,
            received_at=at,
        )
    )
    session.flush()


def _quick(channel: int, re_entry: Any) -> dict[str, Any]:
    return {
        "trigger": {"type": "event", "name": "signed_up"},
        "re_entry": re_entry,
        "steps": [{"id": "hello", "type": "send", "channel_id": channel, "body": "嗨"}],
    }


def test_re_entry_never_always_and_after_days(session: Session, world: World) -> None:
    channel = make_channel(session)
    now = world.clock.now
    never = journey(session, _quick(channel, "never"), now=now, name="never")
    always = journey(session, _quick(channel, "always"), now=now, name="always")
    after = journey(session, _quick(channel, {"after_days": 7}), now=now, name="after")
    wang = person(session, 1)
    for number, days in enumerate((0, 1, 8)):
        _signed_up(session, wang.id, world.clock.move(days=days), number)
        world.tick(seconds=5)
    runs = {j.name: len(world.enrolments(j)[wang.id]) for j in (never, always, after)}
    assert runs == {"never": 1, "always": 3, "after": 2}
    # Each run has its own message key: three messages for three runs.
    assert len(world.messages(always)) == 3


def test_one_walk_at_a_time(session: Session, world: World) -> None:
    channel = make_channel(session)
    definition = {**_quick(channel, "always")}
    definition["steps"] = [{"id": "w", "type": "wait", "duration": "3d"}, *definition["steps"]]
    flow = journey(session, definition, now=world.clock.now)
    wang = person(session, 1)
    assert (
        engine.enrol(session, journey=flow, contact_ids=[wang.id, wang.id], now=world.clock.now)
        == 1
    )
    assert engine.enrol(session, journey=flow, contact_ids=[wang.id], now=world.clock.now) == 0


def test_events_before_switching_on_start_nothing(session: Session, world: World) -> None:
    channel = make_channel(session)
    wang = person(session, 1)
    _signed_up(session, wang.id, world.clock.now, 1)
    world.tick(seconds=5)
    flow = journey(session, _quick(channel, "always"), now=world.clock.now)
    world.tick(seconds=5)
    assert world.enrolments(flow) == {}
    _signed_up(session, wang.id, world.clock.now, 2)
    world.tick(seconds=5)
    assert list(world.enrolments(flow)) == [wang.id]


def test_a_paused_journey_holds_its_walkers(session: Session, world: World) -> None:
    channel = make_channel(session)
    flow = journey(session, _quick(channel, "always"), now=world.clock.now)
    wang = person(session, 1)
    engine.enrol(session, journey=flow, contact_ids=[wang.id], now=world.clock.now)
    service.pause(session, actor=CLI, journey=flow)
    world.tick(minutes=1)
    assert world.messages(flow) == []
    service.activate(session, actor=CLI, journey=flow, now=world.clock.now)
    world.tick(minutes=1)
    assert world.messages(flow) == [("hello", wang.id)]


def test_editing_bumps_the_version_and_exits_removed_steps(session: Session, world: World) -> None:
    channel = make_channel(session)
    vip = segments.create_segment(session, actor=CLI, name="VIP", query='tag("VIP")')
    definition = vip_welcome(vip.id, channel)
    flow = journey(session, definition, now=world.clock.now)
    wang = person(session, 1)
    engine.enrol(session, journey=flow, contact_ids=[wang.id], now=world.clock.now)
    world.tick(minutes=1)
    assert world.enrolments(flow)[wang.id] == [("waiting", "pause")]
    changed = {
        **definition,
        "steps": [definition["steps"][0], {**definition["steps"][0], "id": "bye", "body": "再见"}],
    }
    service.update_journey(
        session, actor=CLI, journey=flow, definition=changed, now=world.clock.now
    )
    assert flow.version == 2
    row = session.scalars(select(EngageJourneyEnrolment)).one()
    assert (row.state, row.exit_reason) == ("exited", "step pause was removed from the journey")
    content = session.scalars(select(EngageContent).where(EngageContent.step == "bye")).one()
    assert content.body == "再见" and content.journey_id == flow.id
    removed = [r for r in service.stats(session, flow)["steps"] if r["removed"]]
    assert [(r["step"], r["exited"]) for r in removed] == [("pause", 1)]


def test_wait_until_a_time_of_day_and_a_date_field(session: Session, world: World) -> None:
    channel = make_channel(session)
    definition = {
        "trigger": {"type": "event", "name": "signed_up"},
        "steps": [
            {"id": "morning", "type": "wait_until", "time": "09:00"},
            {"id": "hello", "type": "send", "channel_id": channel, "body": "早"},
            {"id": "birthday", "type": "wait_until", "field": "traits.birthday", "offset": "-1d"},
            {"id": "gift", "type": "send", "channel_id": channel, "body": "生日快乐"},
        ],
    }
    flow = journey(session, definition, now=world.clock.now)
    wang = person(session, 1, traits={"birthday": "2026-03-10"})
    engine.enrol(session, journey=flow, contact_ids=[wang.id], now=world.clock.now)
    world.tick(seconds=1)  # 10:00 in Shanghai: 09:00 comes tomorrow
    row = session.scalars(select(EngageJourneyEnrolment)).one()
    assert row.wake_at == world.clock.now.replace(hour=1, minute=0, second=0) + timedelta(days=1)
    world.tick(hours=23)
    assert world.messages(flow) == [("hello", wang.id)]
    world.tick(days=6)  # 9 March, 09:00 in Shanghai: the day before the birthday has begun
    assert world.messages(flow) == [("hello", wang.id), ("gift", wang.id)]


def test_tags_owners_and_webhooks(session: Session, world: World) -> None:
    hook = make_channel(session, name="ERP", kind="webhook")
    for login in ("a.staff", "b.staff"):
        staff_service.create_staff(session, login=login, role="staff", actor=CLI)
    contacts.add_tags(session, contact=person(session, 9), tags=["旧"], actor=CLI)
    definition = {
        "trigger": {"type": "event", "name": "signed_up"},
        "steps": [
            {"id": "tag", "type": "tag_add", "tag": "旅程:欢迎"},
            {"id": "untag", "type": "tag_remove", "tag": "旧"},
            {"id": "owner", "type": "assign_owner", "owner": "round_robin"},
            {"id": "erp", "type": "webhook", "channel_id": hook},
            {"id": "stop", "type": "exit", "reason": "done"},
            {"id": "never", "type": "tag_add", "tag": "unreached"},
        ],
    }
    flow = journey(session, definition, now=world.clock.now)
    people = [person(session, n) for n in (1, 2, 3)]
    for contact in people:
        contacts.add_tags(session, contact=contact, tags=["旧"], actor=CLI)
    engine.enrol(session, journey=flow, contact_ids=[c.id for c in people], now=world.clock.now)
    world.tick(seconds=1)
    session.expire_all()
    owners = [session.get_one(Contact, c.id).owner_id for c in people]
    assert len(set(owners)) == 2 and None not in owners
    tagged = tags_of(session, [c.id for c in people])
    assert all([t["label"] for t in tagged[c.id]] == ["旅程:欢迎"] for c in people)
    messages = session.scalars(
        select(EngageMessage).where(EngageMessage.journey_id == flow.id)
    ).all()
    assert {(m.category, m.channel_id) for m in messages} == {("transactional", hook)}
    assert {runs[0] for runs in world.enrolments(flow).values()} == {("exited", "stop")}
    assert service.stats(session, flow)["steps"][-1]["entered"] == 0


def test_orders_and_forms_and_named_events_trigger(session: Session, world: World) -> None:
    channel = make_channel(session)
    now = world.clock.now
    bought = journey(
        session,
        {**_quick(channel, "always"), "trigger": {"type": "order_placed"}},
        now=now,
        name="o",
    )
    formed = journey(
        session,
        {**_quick(channel, "never"), "trigger": {"type": "form_submitted"}},
        now=now,
        name="f",
    )
    wang, li = person(session, 1), person(session, 2)
    order(session, wang.id, now, now=now)
    order(session, li.id, now - timedelta(days=30), now=now)  # history being imported
    source = internal.source_id(session, prefix="siyu_forms_test", name="forms")
    session.add(
        Event(
            source_id=source,
            contact_id=li.id,
            type="track",
            name="form_submitted",
            message_id="f-1",
            properties={"form_id": 5},
            timestamp=now,
            received_at=now,
        )
    )
    world.tick(seconds=5)
    assert list(world.enrolments(bought)) == [wang.id]
    assert list(world.enrolments(formed)) == [li.id]


def test_date_trait_fires_once_a_day_from_its_hour(session: Session, world: World) -> None:
    channel = make_channel(session)
    definition = {
        **_quick(channel, {"after_days": 300}),
        "trigger": {"type": "date_trait", "trait": "birthday", "days_before": 1, "hour": 11},
    }
    flow = journey(session, definition, now=world.clock.now)
    wang = person(session, 1, traits={"birthday": "1990-03-03"})
    person(session, 2, traits={"birthday": "03-04"})
    person(session, 3)
    world.tick(seconds=5)  # 10:00 local: before the hour
    assert world.enrolments(flow) == {}
    world.tick(hours=1)
    world.tick(hours=1)
    assert list(world.enrolments(flow)) == [wang.id]
    assert triggers.run_clock(session, now=world.clock.now + timedelta(hours=2)) == 0


def test_fixed_date_enrols_a_segment_once(session: Session, world: World) -> None:
    channel = make_channel(session)
    wang, li = person(session, 1, city="杭州"), person(session, 2, city="上海")
    at = (world.clock.now + timedelta(days=1)).isoformat()
    definition = {
        **_quick(channel, "never"),
        "trigger": {"type": "fixed_date", "at": at, "query": 'city = "杭州"'},
    }
    flow = journey(session, definition, now=world.clock.now)
    world.tick(hours=23)
    assert world.enrolments(flow) == {}
    world.tick(hours=2)
    world.tick(hours=2)
    assert list(world.enrolments(flow)) == [wang.id] and li.id
    assert world.messages(flow) == [("hello", wang.id)]
