"""The issue_coupon step: one code per walk however often the engine runs, the walk goes on
when the stock is gone, and a journey naming no coupon is refused before it starts."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.contacts import service as contacts
from siyu.engage.journeys import service
from siyu.engage.journeys.definition import DefinitionInvalid
from siyu.engage.journeys.models import EngageJourneyEnrolment, EngageJourneyStepLog
from siyu.events.models import Event
from siyu.growth.coupons import service as coupons
from siyu.growth.coupons.models import GrowthCoupon
from siyu.ingest.inbound import service as inbound
from siyu.segments import service as segments
from tests.engage.journeys.conftest import CLI, World, journey, make_channel, person


def gift(segment_id: int, channel: int, coupon: str = "SPRING") -> dict[str, object]:
    return {
        "trigger": {"type": "segment_entered", "segment_id": segment_id},
        "steps": [
            {"id": "gift", "type": "issue_coupon", "coupon": coupon},
            {"id": "tell", "type": "send", "channel_id": channel,
             "body": '您的优惠码 {{ coupon("SPRING") }}'},
        ],
    }  # fmt: skip


def test_each_walk_gets_one_code_while_the_stock_lasts(session: Session, world: World) -> None:
    spring = coupons.create_definition(
        session, actor=CLI, name="SPRING", kind="fixed", amount_off=1000, stock=1
    )
    channel = make_channel(session)
    vip = segments.create_segment(session, actor=CLI, name="VIP", query='tag("VIP")')
    flow = journey(session, gift(vip.id, channel), now=world.clock.now)
    wang, li = person(session, 1, name="王芳"), person(session, 2, name="李伟")
    for who in (wang, li):
        contacts.add_tags(session, contact=who, tags=["VIP"], actor=CLI)
    world.tick(seconds=10)
    world.tick(minutes=5)
    held = session.execute(select(GrowthCoupon.contact_id, GrowthCoupon.source)).all()
    assert held == [(wang.id, "journey")]
    assert sorted(world.messages(flow)) == sorted([("tell", wang.id), ("tell", li.id)])
    stats = {row["step"]: row for row in service.stats(session, flow)["steps"]}
    assert (stats["gift"]["entered"], stats["gift"]["completed"]) == (2, 2)
    outcomes = session.execute(
        select(EngageJourneyEnrolment.contact_id, EngageJourneyStepLog.outcome)
        .join(
            EngageJourneyEnrolment, EngageJourneyEnrolment.id == EngageJourneyStepLog.enrolment_id
        )
        .where(EngageJourneyStepLog.step == "gift", EngageJourneyStepLog.outcome != "entered")
    ).all()
    assert sorted(outcomes) == sorted([(wang.id, "coupon_issued"), (li.id, "coupon_not_issued")])
    session.refresh(spring)
    assert spring.issued_count == 1
    assert session.scalar(select(func.count()).select_from(GrowthCoupon)) == 1


def test_a_journey_naming_no_coupon_is_refused(session: Session, world: World) -> None:
    channel = make_channel(session)
    vip = segments.create_segment(session, actor=CLI, name="VIP", query='tag("VIP")')
    with pytest.raises(DefinitionInvalid) as caught:
        journey(session, gift(vip.id, channel, coupon="WINTER"), now=world.clock.now)
    assert "there is no coupon 'WINTER'" in str(caught.value.problems)


def test_a_form_sign_up_gets_a_code_through_its_journey(session: Session, world: World) -> None:
    coupons.create_definition(session, actor=CLI, name="SPRING", kind="free_shipping")
    channel = make_channel(session)
    form = inbound.save_form(
        session,
        actor=CLI,
        name="报名",
        fields=[{"key": "phone", "label": "", "kind": "phone", "required": True}],
        consent_channel=None,
        consent_purpose="",
        consent_required=False,
    )
    definition = {
        "trigger": {"type": "form_submitted", "form_id": form.id},
        "steps": [
            {"id": "gift", "type": "issue_coupon", "coupon": "SPRING"},
            {"id": "tell", "type": "send", "channel_id": channel, "category": "transactional",
             "body": '优惠码 {{ coupon("SPRING") }}'},
        ],
    }  # fmt: skip
    flow = journey(session, definition, now=world.clock.now)
    outcome = inbound.submit(
        session, form=form, values={"phone": "13800138123"}, consent=False, ip="127.0.0.1"
    )
    assert outcome.submission is not None
    # The submission happened on the test's clock.
    session.execute(
        update(Event)
        .where(Event.name == "form_submitted")
        .values(timestamp=world.clock.now, received_at=world.clock.now)
    )
    world.tick(seconds=10)
    contact_id = outcome.submission.contact_id
    held = session.execute(select(GrowthCoupon.contact_id, GrowthCoupon.source)).all()
    assert held == [(contact_id, "journey")]
    assert world.messages(flow) == [("tell", contact_id)]
