"""The coupon pages: list, define (bad input inline), a coupon's figures, issuing, state."""

from __future__ import annotations

import html

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.contacts import service as contacts
from siyu.growth.coupons.models import GrowthCoupon, GrowthCouponDefinition
from siyu.kit.actor import Actor
from siyu.segments import service as segments
from tests.console.conftest import Browser, make_staff

FORM = {"name": "SPRING", "kind": "fixed", "amount": "20", "minimum": "100", "prefix": "SP",
        "days": "30", "limit": "1", "stock": "2"}  # fmt: skip


def test_define_issue_and_see_the_figures(signed_in: Browser, session: Session) -> None:
    page = signed_in.get("/coupons")
    assert page.status_code == 200 and 'href="/coupons/new"' in page.text
    signed_in.get("/coupons/new")
    bad = signed_in.post("/coupons/new", {**FORM, "amount": "abc"})
    assert bad.status_code == 422 and "not an amount" in bad.text
    assert 'value="SPRING"' in bad.text  # what was typed stays
    made = signed_in.post("/coupons/new", FORM)
    assert made.status_code == 303
    spring = session.scalar(select(GrowthCouponDefinition))
    assert spring is not None and made.headers["location"] == f"/coupons/{spring.id}"
    assert (spring.amount_off, spring.minimum_spend, spring.stock) == (2000, 10000, 2)

    people = [
        contacts.create_contact(session, actor=Actor.cli(), identities=[f"phone:1380013800{i}"])
        for i in range(3)
    ]
    segments.create_segment(
        session, actor=Actor.cli(), name="三位", kind="static", members=[str(p.id) for p in people]
    )
    segment_id = segments.get_segment(session, "三位").id
    signed_in.get(f"/coupons/{spring.id}")
    issued = signed_in.post(f"/coupons/{spring.id}/issue", {"segment": str(segment_id)})
    assert issued.status_code == 303
    shown = signed_in.get(f"/coupons/{spring.id}")
    # The console speaks Chinese unless told otherwise.
    assert "已发放 2 张；0 位客户已领满；1 位因库存不足未领到" in shown.text
    codes = list(session.scalars(select(GrowthCoupon.code)))
    assert len(codes) == 2 and all(code in shown.text for code in codes)
    assert 'coupon("SPRING").redeemed' in html.unescape(shown.text)

    listed = signed_in.get("/coupons")
    assert "SPRING" in listed.text and "减 ¥20.00，满 ¥100.00 可用" in listed.text

    signed_in.post(f"/coupons/{spring.id}/state", {"state": "paused"})
    paused = signed_in.get(f"/coupons/{spring.id}")
    assert "已暂停" in paused.text and 'id="issue-segment"' not in paused.text


def test_unknown_coupons_and_a_viewer_are_refused(signed_in: Browser, session: Session) -> None:
    assert signed_in.get("/coupons/999999").status_code == 404
    make_staff(session, "viewer", "viewer")
    viewer = Browser(signed_in.client)
    viewer.client.cookies.clear()
    viewer.sign_in("viewer")
    assert viewer.get("/coupons").status_code == 200
    assert viewer.get("/coupons/new").status_code == 403


def test_the_empty_list_says_what_to_do(signed_in: Browser) -> None:
    page = signed_in.get("/coupons")
    assert "还没有优惠券" in page.text and 'href="/coupons"' in page.text  # in the navigation
