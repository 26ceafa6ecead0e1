"""Coupon definitions, issuing, redemption, expiry and figures, on both databases."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.contacts.identity import merge
from siyu.errors import Conflict, Forbidden, Invalid, NotFound
from siyu.growth.coupons import issuing, redeeming, service, tasks
from siyu.growth.coupons.codes import ALPHABET, RANDOM_LENGTH
from siyu.growth.coupons.models import GrowthCoupon
from siyu.kit.actor import Actor
from siyu.segments import service as segments
from siyu.worker import runner, scheduler
from siyu.worker.models import Job
from tests.growth.conftest import CLI, NOW, define, order, person


def test_codes_carry_the_prefix_and_no_look_alike_characters(session: Session) -> None:
    spring = define(session)
    people = [person(session) for _ in range(20)]
    result = issuing.issue(
        session, actor=CLI, coupon=spring, contact_ids=[p.id for p in people], now=NOW
    )
    codes = list(result.codes.values())
    assert len(codes) == len(set(codes)) == 20
    pattern = re.compile(rf"^SP[{ALPHABET}]{{{RANDOM_LENGTH}}}$")
    assert all(pattern.match(code) for code in codes)
    assert not set("01OIL") & set("".join(c[2:] for c in codes))
    assert spring.issued_count == 20


def test_definitions_refuse_bad_terms_with_a_clear_message(session: Session) -> None:
    define(session)
    with pytest.raises(Conflict, match="already a coupon named 'SPRING'"):
        define(session)
    with pytest.raises(Invalid, match="amount off"):
        define(session, "A", amount_off=0)
    with pytest.raises(Invalid, match="1 to 100"):
        define(session, "B", kind="percent", percent_off=120)
    with pytest.raises(Invalid, match="kind 'gift'"):
        define(session, "C", kind="gift")
    with pytest.raises(Invalid, match="prefix"):
        define(session, "D", code_prefix="no-dash!")
    with pytest.raises(Invalid, match="valid_until must come after"):
        define(session, "E", valid_from=NOW, valid_until=NOW - timedelta(days=1))
    with pytest.raises(Forbidden):
        service.create_definition(
            session, actor=Actor("v", role="viewer"), name="F", kind="free_shipping"
        )


def test_the_limit_per_contact_and_the_stock_are_kept(session: Session) -> None:
    spring = define(session, limit_per_contact=2, stock=3)
    ann, bob = person(session, "Ann"), person(session, "Bob")
    issuing.issue_one(session, actor=CLI, coupon=spring, contact_id=ann.id, now=NOW)
    issuing.issue_one(session, actor=CLI, coupon=spring, contact_id=ann.id, now=NOW)
    with pytest.raises(Conflict, match="already holds 2 SPRING"):
        issuing.issue_one(session, actor=CLI, coupon=spring, contact_id=ann.id, now=NOW)
    issuing.issue_one(session, actor=CLI, coupon=spring, contact_id=bob.id, now=NOW)
    with pytest.raises(Conflict, match="out of stock"):
        issuing.issue_one(session, actor=CLI, coupon=spring, contact_id=bob.id, now=NOW)
    assert spring.issued_count == 3
    with pytest.raises(NotFound, match="no contact 999999"):
        issuing.issue(session, actor=CLI, coupon=spring, contact_ids=[999999])


def test_a_source_reference_issues_once(session: Session) -> None:
    spring = define(session, limit_per_contact=5)
    ann = person(session)
    first = issuing.issue_one(
        session, actor=CLI, coupon=spring, contact_id=ann.id, source="journey", source_ref="j1:s1:1"
    )
    again = issuing.issue_one(
        session, actor=CLI, coupon=spring, contact_id=ann.id, source="journey", source_ref="j1:s1:1"
    )
    assert first == again and spring.issued_count == 1


def test_paused_or_ended_coupons_issue_nothing(session: Session) -> None:
    spring = define(session, valid_until=NOW - timedelta(days=1))
    with pytest.raises(Conflict, match="ended"):
        issuing.issue_one(session, actor=CLI, coupon=spring, contact_id=person(session).id)
    summer = define(session, "SUMMER")
    service.set_state(session, actor=CLI, definition=summer, state="paused")
    with pytest.raises(Conflict, match="paused"):
        issuing.issue_one(session, actor=CLI, coupon=summer, contact_id=person(session).id)


def test_issue_to_a_segment_while_the_stock_lasts(session: Session) -> None:
    people = [person(session, f"VIP{i}") for i in range(5)]
    segment = segments.create_segment(
        session, actor=CLI, name="five", kind="static", members=[str(p.id) for p in people]
    )
    spring = define(session, stock=3)
    result = issuing.issue_to_segment(session, actor=CLI, coupon=spring, segment=segment, now=NOW)
    assert len(result.codes) == 3 and len(result.out_of_stock) == 2
    assert sorted(result.codes) == sorted(p.id for p in people)[:3]
    again = issuing.issue_to_segment(session, actor=CLI, coupon=spring, segment=segment, now=NOW)
    assert not again.codes and spring.issued_count == 3


def test_redeem_through_the_api_once_with_minimum_spend_and_expiry(session: Session) -> None:
    spring = define(session, minimum_spend=10000, valid_days=7)
    ann = person(session)
    code = issuing.issue_one(session, actor=CLI, coupon=spring, contact_id=ann.id, now=NOW)
    with pytest.raises(NotFound, match="no coupon with the code 'NOPE'"):
        redeeming.redeem(session, actor=CLI, code="NOPE")
    with pytest.raises(Invalid, match="below the minimum spend of ¥100"):
        redeeming.redeem(session, actor=CLI, code=code, amount=5000, now=NOW)
    late = NOW + timedelta(days=8)
    with pytest.raises(Invalid, match="expired"):
        redeeming.redeem(session, actor=CLI, code=code, amount=20000, now=late)
    used = redeeming.redeem(
        session, actor=CLI, code=code.lower(), amount=20000, order_ref="POS-1", now=NOW
    )
    assert (used.redeemed_at, used.order_amount, used.order_ref) == (NOW, 20000, "POS-1")
    with pytest.raises(Conflict, match="already redeemed"):
        redeeming.redeem(session, actor=CLI, code=code, amount=20000, now=NOW)


def test_imported_style_orders_redeem_known_codes_once(session: Session) -> None:
    spring = define(session, minimum_spend=5000)
    ann, bob = person(session, "Ann"), person(session, "Bob")
    code = issuing.issue_one(
        session, actor=CLI, coupon=spring, contact_id=ann.id, now=NOW - timedelta(days=1)
    )
    bob_code = issuing.issue_one(
        session, actor=CLI, coupon=spring, contact_id=bob.id, now=NOW - timedelta(days=1)
    )
    first = order(session, ann, code=f" {code[:6]}-{code[6:]}".lower())  # as a person typed it
    order(session, ann, code=code)  # the same code again: refused, not a second redemption
    order(session, ann, code="SHOP-OWN-CODE")
    order(session, bob, code=bob_code, total=1000)  # below the minimum spend
    counts = redeeming.redeem_from_orders(session, contact_ids=[ann.id, bob.id], now=NOW)
    assert counts.as_dict() == {"redeemed": 1, "unknown": 1, "refused": 2}
    coupon = session.scalar(select(GrowthCoupon).where(GrowthCoupon.code == code))
    assert coupon is not None and coupon.order_id == first.id
    again = redeeming.redeem_from_orders(session, contact_ids=[ann.id], now=NOW)
    assert again.redeemed == 0
    figures = service.stats(session, definition_ids=[spring.id], now=NOW)[spring.id]
    assert figures == {
        "issued": 2,
        "redeemed": 1,
        "expired": 0,
        "live": 1,
        "redemption_rate": 0.5,
        "revenue": 10000,
    }


def test_pending_or_cancelled_orders_redeem_nothing(session: Session) -> None:
    spring = define(session)
    ann = person(session)
    code = issuing.issue_one(session, actor=CLI, coupon=spring, contact_id=ann.id, now=NOW)
    order(session, ann, code=code, status="pending")
    order(session, ann, code=code, status="cancelled")
    assert redeeming.redeem_from_orders(session, contact_ids=[ann.id]).redeemed == 0


def test_the_sweep_expires_codes_and_the_figures_count_them(session: Session) -> None:
    spring = define(session, valid_days=3)
    ann, bob = person(session), person(session)
    issued = issuing.issue(session, actor=CLI, coupon=spring, contact_ids=[ann.id, bob.id], now=NOW)
    redeeming.redeem(session, actor=CLI, code=issued.codes[ann.id], amount=9900, now=NOW)
    assert redeeming.expire(session, now=NOW + timedelta(days=2)) == 0
    assert redeeming.expire(session, now=NOW + timedelta(days=4)) == 1
    assert redeeming.expire(session, now=NOW + timedelta(days=5)) == 0
    figures = service.stats(session, definition_ids=[spring.id])[spring.id]
    assert (figures["redeemed"], figures["expired"], figures["revenue"]) == (1, 1, 9900)


def test_a_merge_moves_the_absorbed_contacts_codes(session: Session) -> None:
    spring = define(session)
    ann, twin = person(session), person(session)
    code = issuing.issue_one(session, actor=CLI, coupon=spring, contact_id=twin.id)
    merge(session, survivor=ann.id, absorbed=twin.id, reason="same person")
    held = session.scalar(select(GrowthCoupon.contact_id).where(GrowthCoupon.code == code))
    assert held == ann.id


def test_redeeming_for_a_stored_order_takes_its_total(session: Session) -> None:
    spring = define(session, minimum_spend=10000)
    ann = person(session)
    small, large = order(session, ann, total=5000), order(session, ann, total=30000)
    first = issuing.issue_one(session, actor=CLI, coupon=spring, contact_id=ann.id, now=NOW)
    with pytest.raises(Invalid, match="¥50 is below the minimum spend of ¥100"):
        redeeming.redeem(
            session, actor=CLI, code=first, order_ref=f"taobao:{small.platform_order_id}"
        )
    used = redeeming.redeem(session, actor=CLI, code=first, order_ref=large.platform_order_id)
    assert (used.order_id, used.order_amount) == (large.id, 30000)
    summer = define(session, "SUMMER")
    other = issuing.issue_one(session, actor=CLI, coupon=summer, contact_id=ann.id, now=NOW)
    with pytest.raises(Conflict, match="has redeemed a coupon already"):
        redeeming.redeem(session, actor=CLI, code=other, order_ref=large.platform_order_id)


def test_the_expiry_job_is_hourly_and_runs_as_a_job(session: Session) -> None:
    runner._load_handlers()
    assert scheduler.PERIODIC[tasks.EXPIRE_JOB] == timedelta(hours=1)
    spring = define(session, valid_days=1)
    issuing.issue_one(session, actor=CLI, coupon=spring, contact_id=person(session).id, now=NOW)
    job = Job(kind=tasks.EXPIRE_JOB, payload={"now": (NOW + timedelta(days=2)).isoformat()})
    assert runner.HANDLERS[tasks.EXPIRE_JOB](session, job, session.get_bind()) == {"expired": 1}
