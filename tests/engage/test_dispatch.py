"""The dispatcher: consent, suppressions, caps, quiet hours, retries and `unknown`, on both
databases, with the clock given explicitly."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from siyu.contacts.consent import record_consent
from siyu.db.session import get_engine, unit_of_work
from siyu.engage import campaigns
from siyu.engage.dispatch import Dispatcher
from siyu.engage.message_queue import reap
from siyu.engage.messages import create_message
from siyu.engage.models import (
    EngageChannel,
    EngageContent,
    EngageMessage,
    EngageSuppression,
)
from siyu.kit.actor import Actor
from siyu.worker import liveness
from siyu.worker.models import Job
from siyu.worker.queue import enqueue
from tests.engage.keeping import DAYTIME, Keeping, add_channel, add_people

BODY = "{{ name }}，新品上市。{{ link('https://shop.example/new') }} 退订 {{ unsubscribe_url }}"


def campaign(channel_id: int, query: str = "order_count >= 0", **options: Any) -> int:
    with unit_of_work() as session:
        channel = session.get_one(EngageChannel, channel_id)
        made = campaigns.create_campaign(
            session,
            actor=Actor.cli(),
            name="上新",
            channel=channel,
            query=query,
            variants=options.pop("variants", [{"subject": "{{ name }}，你好", "body": BODY}]),
            **options,
        )
        campaigns.start(session, actor=Actor.cli(), campaign=made, now=DAYTIME)
        campaigns.materialize(session, made, now=DAYTIME)
        return made.id


def drain(now: Any = DAYTIME, **options: Any) -> None:
    """Send everything due at `now`, as a worker would, and wait for it to be recorded."""
    dispatcher = Dispatcher(get_engine(), clock=lambda: now, **options)
    while dispatcher.run_once():
        pass
    dispatcher.close()


def states(campaign_id: int) -> dict[str, int]:
    with unit_of_work() as session:
        rows = session.execute(
            select(EngageMessage.state, func.count())
            .where(EngageMessage.campaign_id == campaign_id)
            .group_by(EngageMessage.state)
        ).all()
    return dict(rows)


def stats(campaign_id: int) -> dict[str, Any]:
    with unit_of_work() as session:
        return campaigns.stats(session, campaigns.get_campaign(session, campaign_id))


def test_a_campaign_reaches_each_consenting_contact_once(database_url: str, keeping: Any) -> None:
    yes = add_people(3)
    no = add_people(2, consent=False)
    channel = add_channel()
    campaign_id = campaign(channel)
    drain()
    drain()  # a second pass finds nothing more to send
    assert sorted(m.contact_id for m in Keeping.kept) == sorted(yes)
    first = Keeping.kept[0]
    assert first.subject == f"{first.extra['contact']['name']}，你好"
    assert "/r/" in first.body and "/u/" in first.body  # tracked link and unsubscribe link
    assert first.unsubscribe_url and first.unsubscribe_url in first.body
    result = stats(campaign_id)
    assert (result["sent"], result["suppressed"], result["queued"]) == (3, 2, 0)
    assert result["suppressed_by_rule"] == {"no_consent": 2}
    assert result["state"] == "done"
    with unit_of_work() as session:
        reasons = session.scalars(
            select(EngageMessage.reason).where(EngageMessage.contact_id.in_(no))
        ).all()
    assert reasons == ["no email consent on record"] * 2


def test_withdrawn_consent_is_honoured_at_send_time(database_url: str, keeping: Any) -> None:
    people = add_people(2)
    channel = add_channel()
    campaign_id = campaign(channel)
    with unit_of_work() as session:  # withdrawn after the campaign started, before sending
        record_consent(
            session, contact_id=people[0], channel="email", granted=False, source="unsubscribe"
        )
    drain()
    assert [m.contact_id for m in Keeping.kept] == [people[1]]
    assert stats(campaign_id)["suppressed_by_rule"] == {"no_consent": 1}


def test_frequency_cap_suppresses_the_third_marketing_message_in_a_week(
    database_url: str, keeping: Any
) -> None:
    person = add_people(1)[0]
    channel = add_channel()
    for day in range(3):
        campaign_id = campaign(channel)
        drain(now=DAYTIME + timedelta(days=day))
    assert len(Keeping.kept) == 2
    with unit_of_work() as session:
        last = session.scalars(
            select(EngageMessage).where(EngageMessage.campaign_id == campaign_id)
        ).one()
    assert (last.state, last.rule) == ("suppressed", "frequency_cap")
    assert "2 marketing messages in 7 days" in (last.reason or "")
    # A week after the first, the contact may hear from the merchant again.
    campaign(channel)
    drain(now=DAYTIME + timedelta(days=7, minutes=1))
    assert [m.contact_id for m in Keeping.kept] == [person] * 3


def test_transactional_messages_pass_caps_consent_and_quiet_hours(
    database_url: str, keeping: Any
) -> None:
    add_people(1, consent=False)
    channel = add_channel()
    night = DAYTIME.replace(hour=15)  # 23:00 in Shanghai
    for _ in range(3):
        campaign_id = campaign(channel, category="transactional")
        drain(now=night)
    assert len(Keeping.kept) == 3
    assert Keeping.kept[0].unsubscribe_url is None
    assert stats(campaign_id)["sent"] == 1


def test_quiet_hours_delay_to_the_morning_in_the_contacts_zone(
    database_url: str, keeping: Any
) -> None:
    shanghai = add_people(1)[0]
    london = add_people(1, timezone="Europe/London")[0]
    channel = add_channel()
    night = DAYTIME.replace(hour=14)  # 22:00 in Shanghai, 14:00 in London
    campaign_id = campaign(channel)
    drain(now=night)
    assert [m.contact_id for m in Keeping.kept] == [london]
    with unit_of_work() as session:
        waiting = session.scalars(
            select(EngageMessage).where(EngageMessage.contact_id == shanghai)
        ).one()
    assert waiting.state == "delayed"
    assert waiting.send_after == DAYTIME.replace(day=4, hour=1)  # 09:00 in Shanghai
    assert stats(campaign_id)["queued"] == 1
    drain(now=DAYTIME.replace(day=4, hour=1, minute=1))
    assert [m.contact_id for m in Keeping.kept] == [london, shanghai]
    assert states(campaign_id) == {"sent": 2}


def test_a_bounce_suppresses_the_address_and_a_busy_one_is_retried_with_backoff(
    database_url: str, keeping: Any
) -> None:
    people = add_people(3)
    with unit_of_work() as session:
        from siyu.engage.recipients import addresses

        found = addresses(session, people, ["email"])
    bounced, busy = found[(people[0], "email")], found[(people[1], "email")]
    channel = add_channel({"refuse": [bounced], "busy": [busy]})
    first = campaign(channel)
    drain()
    with unit_of_work() as session:
        message = {
            m.contact_id: m
            for m in session.scalars(
                select(EngageMessage).where(EngageMessage.campaign_id == first)
            )
        }
        listed = session.scalars(select(EngageSuppression.address)).all()
    assert message[people[0]].state == "failed"
    assert "550" in (message[people[0]].reason or "")
    assert listed == [bounced]
    retry = message[people[1]]
    assert (retry.state, retry.attempts) == ("queued", 1)
    assert retry.send_after == DAYTIME + timedelta(seconds=30)
    # Retried later, up to five attempts in all, each wait twice the last; then it fails.
    moment = DAYTIME
    for attempt in range(2, 6):
        moment = moment + timedelta(seconds=30 * 2 ** (attempt - 2), milliseconds=1)
        drain(now=moment)
    with unit_of_work() as session:
        retry = session.get_one(EngageMessage, retry.id)
    assert (retry.state, retry.attempts) == ("failed", 5)
    assert retry.reason.startswith("gave up after 5 attempts: 451")
    # The next campaign does not even try the bounced address.
    second = campaign(channel)
    drain(now=DAYTIME + timedelta(days=1))
    assert stats(second)["suppressed_by_rule"].get("suppressed_address") == 1


def test_ab_variants_split_by_percentage(database_url: str, keeping: Any) -> None:
    add_people(40)
    channel = add_channel()
    variants = [
        {"name": "A", "percent": 50, "subject": "A", "body": "A {{ unsubscribe_url }}"},
        {"name": "B", "percent": 50, "subject": "B", "body": "B {{ unsubscribe_url }}"},
    ]
    campaign_id = campaign(channel, variants=variants)
    drain()
    result = stats(campaign_id)
    split = {v["name"]: v["sent"] for v in result["variants"]}
    assert split["A"] + split["B"] == 40
    assert 10 <= split["A"] <= 30  # a hash split: near half, never all of one
    subjects = {m.subject for m in Keeping.kept}
    assert subjects == {"A", "B"}


def test_pause_holds_and_cancel_ends(database_url: str, keeping: Any) -> None:
    add_people(3)
    channel = add_channel()
    campaign_id = campaign(channel)
    with unit_of_work() as session:
        campaigns.pause(
            session, actor=Actor.cli(), campaign=campaigns.get_campaign(session, campaign_id)
        )
    drain()
    assert Keeping.kept == []
    with unit_of_work() as session:
        found = campaigns.get_campaign(session, campaign_id)
        campaigns.resume(session, actor=Actor.cli(), campaign=found)
    one = Dispatcher(get_engine(), clock=lambda: DAYTIME, batch=1)
    one.run_once()
    one.close()
    with unit_of_work() as session:
        found = campaigns.get_campaign(session, campaign_id)
        assert campaigns.cancel(session, actor=Actor.cli(), campaign=found) == 2
    drain()
    assert len(Keeping.kept) == 1
    assert states(campaign_id) == {"sent": 1, "cancelled": 2}


def test_throttle_limits_each_second(database_url: str, keeping: Any) -> None:
    add_people(5)
    channel = add_channel()
    campaign(channel, throttle_per_second=2)
    drain()
    assert len(Keeping.kept) == 2  # the first second's budget
    drain(now=DAYTIME + timedelta(seconds=1))
    assert len(Keeping.kept) == 4
    drain(now=DAYTIME + timedelta(seconds=2))
    assert len(Keeping.kept) == 5


def test_a_dead_workers_messages_become_unknown_and_are_not_resent(
    database_url: str, keeping: Any
) -> None:
    add_people(4)
    channel = add_channel()
    campaign_id = campaign(channel)
    dead = Dispatcher(get_engine(), name="elsewhere:1", clock=lambda: DAYTIME, batch=3)
    liveness.beat(get_engine(), "elsewhere:1", DAYTIME)
    with unit_of_work() as session:
        ready, _ = dead.claim(session)  # claimed, then the process "dies" before sending
    assert len(ready) == 3
    drain()  # another worker: the heartbeat is fresh, so the three stay with their owner
    assert len(Keeping.kept) == 1
    with unit_of_work() as session:
        assert reap(session, now=DAYTIME + timedelta(seconds=61), dead_after=60) == 3
    drain(now=DAYTIME + timedelta(seconds=62))
    assert len(Keeping.kept) == 1
    assert states(campaign_id) == {"sent": 1, "unknown": 3}
    assert stats(campaign_id)["state"] == "done"
    with unit_of_work() as session:  # only the operator's choice sends them again
        found = campaigns.get_campaign(session, campaign_id)
        assert (
            campaigns.resend_unknown(
                session, actor=Actor.cli(), campaign=found, now=DAYTIME + timedelta(seconds=63)
            )
            == 3
        )
    drain(now=DAYTIME + timedelta(seconds=63))
    assert states(campaign_id) == {"sent": 4}


def test_a_journey_message_is_created_once_per_key(database_url: str, keeping: Any) -> None:
    person = add_people(1)[0]
    channel = add_channel()
    with unit_of_work() as session:
        content = EngageContent(
            journey_id=1, step="welcome", subject="欢迎", body="欢迎 {{ name }}"
        )
        session.add(content)
        session.flush()
        made = [
            create_message(
                session,
                key=f"journey:1:welcome:{person}:1",
                contact_id=person,
                channel_id=channel,
                content_id=content.id,
                category="transactional",
                journey_id=1,
                send_after=DAYTIME,
            )
            for _ in range(2)
        ]
    assert made[0] is not None and made[1] is None
    drain()
    assert [m.body for m in Keeping.kept] == ["欢迎 顾客0"]


def test_a_template_reaching_outside_its_data_cannot_start(database_url: str, keeping: Any) -> None:
    from siyu.errors import Invalid

    add_people(1)
    channel = add_channel()
    body = "{{ contact.__class__.__mro__ }} {{ unsubscribe_url }}"
    with pytest.raises(Invalid, match=r"contact.__class__ \}\} is nothing a contact has"):
        campaign(channel, variants=[{"subject": "s", "body": body}])


@pytest.mark.parametrize("bad", ["3/0d", "two/7d"])
def test_a_bad_cap_setting_is_named(bad: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from siyu.config import get_settings
    from siyu.engage.rules import Policy
    from siyu.errors import Invalid

    monkeypatch.setenv("SIYU_FREQUENCY_CAP", bad)
    get_settings.cache_clear()
    with pytest.raises(Invalid, match="COUNT/DAYSd"):
        Policy.from_settings(get_settings())


def _order(contact_id: int, placed_at: Any, paid: int, number: str) -> None:
    from siyu.contacts.models import ContactOrder

    with unit_of_work() as session:
        session.add(
            ContactOrder(
                contact_id=contact_id, platform="taobao", platform_order_id=number,
                status="paid", total_amount=paid, paid_amount=paid, placed_at=placed_at,
            )
        )  # fmt: skip


def test_a_paid_order_within_the_window_converts_the_last_message_before_it(
    database_url: str, keeping: Any
) -> None:
    buyer, later_buyer, late = add_people(3)
    channel = add_channel()
    first = campaign(channel, conversion_days=7)
    drain()
    _order(buyer, DAYTIME + timedelta(days=2), 19900, "o1")  # converts the first campaign
    _order(late, DAYTIME + timedelta(days=11), 5000, "o2")  # outside both 7-day windows
    second = campaign(channel, conversion_days=7)
    drain(now=DAYTIME + timedelta(days=3))
    # Bought after both messages: the later one takes the credit, not both.
    _order(later_buyer, DAYTIME + timedelta(days=4), 8800, "o3")
    one, two = stats(first), stats(second)
    assert (one["converted"], one["revenue"]) == (1, 19900)
    assert (two["converted"], two["revenue"]) == (1, 8800)


def test_a_dead_workers_running_job_is_queued_again(database_url: str) -> None:
    with unit_of_work() as session:
        job = enqueue(session, kind="segments.sweep", payload={}, created_by="test")
        job.state, job.claimed_by = "running", "elsewhere:2"
        job_id = job.id
    liveness.beat(get_engine(), "elsewhere:2", DAYTIME)
    with unit_of_work() as session:  # silent for a while, but not long enough for a job
        assert (
            liveness.requeue_jobs(session, now=DAYTIME + timedelta(seconds=61), dead_after=60) == 0
        )
        assert (
            liveness.requeue_jobs(session, now=DAYTIME + timedelta(minutes=11), dead_after=60) == 1
        )
        assert session.get_one(Job, job_id).state == "queued"
