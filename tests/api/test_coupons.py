"""The coupon API: define, issue, redeem, figures; bad input is a problem, never a 500."""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.contacts import service as contacts
from siyu.kit.actor import Actor
from siyu.segments import service as segments
from tests.api.conftest import Api, assert_problem

SPRING = {"name": "SPRING", "kind": "fixed", "amount_off": 2000, "minimum_spend": 10000,
          "code_prefix": "SP", "stock": 2, "valid_days": 30}  # fmt: skip


def test_define_issue_redeem_and_count(api: Api, session: Session) -> None:
    ann = contacts.create_contact(session, actor=Actor.cli(), identities=["phone:13800138001"])
    made = api.ok("POST", "/api/v1/coupons", 201, json=SPRING)
    assert (made["terms"], made["remaining"]) == ("¥20 off over ¥100", 2)
    issued = api.ok(
        "POST", "/api/v1/coupons/SPRING/issue", json={"contacts": ["phone:13800138001"]}
    )
    code = issued["codes"][str(ann.id)]
    assert code.startswith("SP") and issued["issued"] == 1
    shown = api.ok("GET", f"/api/v1/coupons/codes/{code}", scope="read")
    assert (shown["status"], shown["coupon"]) == ("live", "SPRING")
    body = {"code": code, "amount": 5000}
    assert_problem(api.post("/api/v1/coupons/redeem", json=body), 422, "below the minimum spend")
    redeemed = api.ok("POST", "/api/v1/coupons/redeem", json={**body, "amount": 15000})
    assert redeemed["status"] == "redeemed"
    again = api.post("/api/v1/coupons/redeem", json={**body, "amount": 15000})
    assert_problem(again, 409, "already redeemed")
    figures = api.ok("GET", "/api/v1/coupons/SPRING", scope="read")["stats"]
    assert (figures["issued"], figures["redeemed"], figures["revenue"]) == (1, 1, 15000)
    listed = api.ok("GET", "/api/v1/coupons", scope="read")
    assert [c["name"] for c in listed] == ["SPRING"]
    codes = api.ok("GET", "/api/v1/coupons/SPRING/codes", scope="read")
    assert [c["code"] for c in codes] == [code]


def test_issue_to_a_segment_stops_at_the_stock(api: Api, session: Session) -> None:
    people = [
        contacts.create_contact(session, actor=Actor.cli(), identities=[f"phone:1380013810{i}"])
        for i in range(3)
    ]
    segments.create_segment(
        session, actor=Actor.cli(), name="三位", kind="static", members=[str(p.id) for p in people]
    )
    api.ok("POST", "/api/v1/coupons", 201, json=SPRING)
    result = api.ok("POST", "/api/v1/coupons/SPRING/issue", json={"segment": "三位"})
    assert (result["issued"], result["out_of_stock"]) == (2, 1)
    person = f"phone:1380013810{2}"
    late = api.post("/api/v1/coupons/SPRING/issue", json={"contacts": [person]})
    assert late.status_code == 200 and late.json()["out_of_stock"] == 1


def test_bad_input_is_a_clear_problem(api: Api) -> None:
    assert_problem(api.get("/api/v1/coupons/WINTER"), 404, "no coupon 'WINTER'")
    assert_problem(
        api.post("/api/v1/coupons/redeem", json={"code": "SPNOSUCHCODE"}), 404, "no coupon"
    )
    api.ok("POST", "/api/v1/coupons", 201, json=SPRING)
    assert_problem(api.post("/api/v1/coupons", json=SPRING), 409, "already a coupon")
    odd = {**SPRING, "name": "ODD", "kind": "fixed", "amount_off": 0}
    assert_problem(api.post("/api/v1/coupons", json=odd), 422, "amount off")
    both = api.post("/api/v1/coupons/SPRING/issue", json={})
    assert_problem(both, 422, "contacts or a segment")
    nobody = api.post("/api/v1/coupons/SPRING/issue", json={"contacts": ["99999"]})
    assert_problem(nobody, 404, "no contact")
    api.ok("POST", "/api/v1/coupons/SPRING/state", json={"state": "paused"})
    paused = api.post("/api/v1/coupons/SPRING/issue", json={"segment": "x"})
    assert paused.status_code == 404  # the segment is looked up first
    assert api.post("/api/v1/coupons/SPRING/state", json={"state": "gone"}).status_code == 422
