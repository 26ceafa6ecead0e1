"""The handover page (离职继承 / 在职继承): choose, preview how many move, confirm, audit; refused
for roles that may not change customers."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audit.models import AuditEvent
from siyu.contacts import service as contacts_service
from siyu.contacts.models import Contact
from siyu.kit.actor import Actor
from siyu.staff.models import StaffUser
from tests.console.conftest import Browser, make_staff


@pytest.fixture
def team(session: Session) -> dict[str, StaffUser]:
    """王芳 leaves with five customers (two tagged VIP); 赵磊 takes over; 陈静 only reads."""
    members = {
        "wang.fang": make_staff(session, "wang.fang", "staff", name="王芳"),
        "zhao.lei": make_staff(session, "zhao.lei", "staff", name="赵磊"),
        "chen.jing": make_staff(session, "chen.jing", "viewer", name="陈静"),
        "sun.li": make_staff(session, "sun.li", "operator", name="孙丽"),
    }
    for n in range(5):
        contacts_service.create_contact(
            session,
            actor=Actor.system(),
            identities=[f"phone:1380013800{n}"],
            name=f"客户{n}",
            owner="wang.fang",
            tags=["VIP"] if n < 2 else [],
        )
    contacts_service.create_contact(
        session,
        actor=Actor.system(),
        identities=["phone:13900000000"],
        name="别人的客户",
        owner="zhao.lei",
    )
    session.flush()
    return members


def owners(session: Session) -> dict[str, str | None]:
    rows = session.execute(
        select(Contact.name, StaffUser.login).outerjoin(StaffUser, StaffUser.id == Contact.owner_id)
    )
    return {name: login for name, login in rows}


def events(session: Session) -> list[AuditEvent]:
    return list(
        session.execute(select(AuditEvent).where(AuditEvent.action == "contact.handover")).scalars()
    )


def test_the_form_lists_staff_and_how_many_customers_they_have(
    signed_in: Browser, team: dict[str, StaffUser]
) -> None:
    page = signed_in.get("/handover")
    assert page.status_code == 200
    assert "客户移交" in page.text
    assert re.search(r'<option value="wang.fang">王芳 \(wang.fang\) · 5 位客户</option>', page.text)
    assert "赵磊" in page.text


def test_preview_then_move_all(
    signed_in: Browser, session: Session, team: dict[str, StaffUser]
) -> None:
    form = {"from_login": "wang.fang", "to_login": "zhao.lei", "scope": "all"}
    preview = signed_in.post("/handover/preview", form)
    assert preview.status_code == 200, preview.text
    assert re.search(r'将移交的客户</div>\s*<div class="figure-value">5<', preview.text)
    assert "客户0" in preview.text  # a few of them
    assert "hx-confirm=" in preview.text and "移交 5 位客户" in preview.text
    assert owners(session)["客户0"] == "wang.fang"  # nothing moved yet
    assert not events(session)

    moved = signed_in.post("/handover", {**form, "confirmed": "1"})
    assert moved.status_code == 303
    assert moved.headers["location"] == "/handover"
    assert (
        "已将 5 位客户从 王芳 (wang.fang) 移交给 赵磊 (zhao.lei)。"
        in signed_in.get("/handover").text
    )
    assert set(owners(session).values()) == {"zhao.lei"}
    (event,) = events(session)
    assert event.actor == "staff:li.na"
    assert event.detail["count"] == 5
    assert event.detail["to"] == "zhao.lei"


def test_move_by_tag_and_by_pasted_customers(
    signed_in: Browser, session: Session, team: dict[str, StaffUser]
) -> None:
    form = {"from_login": "wang.fang", "to_login": "sun.li", "scope": "tag", "tag": "VIP"}
    preview = signed_in.post("/handover/preview", form)
    assert re.search(r'将移交的客户</div>\s*<div class="figure-value">2<', preview.text)
    assert signed_in.post("/handover", {**form, "confirmed": "1"}).status_code == 303
    assert [n for n, o in sorted(owners(session).items()) if o == "sun.li"] == ["客户0", "客户1"]

    three = contacts_service.get_by_ref(session, "phone:13800138003").id
    pasted = f"{three}\nphone:13800138004，phone:13900000000"  # the last is 赵磊's: it stays
    form = {"from_login": "wang.fang", "to_login": "sun.li", "scope": "list", "refs": pasted}
    preview = signed_in.post("/handover/preview", form)
    assert re.search(r'将移交的客户</div>\s*<div class="figure-value">2<', preview.text)
    assert "所列 3 位客户中属于 王芳 的客户" in preview.text
    # The confirmation carries the looked-up ids, not the pasted text.
    assert re.search(r'name="refs" value="\d+,\d+,\d+"', preview.text)
    ids = re.search(r'name="refs" value="([\d,]+)"', preview.text)
    assert ids
    moved = signed_in.post("/handover", {**form, "refs": ids.group(1), "confirmed": "1"})
    assert moved.status_code == 303
    result = owners(session)
    assert (result["客户3"], result["客户4"], result["客户2"]) == ("sun.li", "sun.li", "wang.fang")
    assert result["别人的客户"] == "zhao.lei"
    assert [e.detail["count"] for e in events(session)] == [2, 2]


def test_mistakes_are_shown_beside_the_form(
    signed_in: Browser, session: Session, team: dict[str, StaffUser]
) -> None:
    same = signed_in.post(
        "/handover/preview", {"from_login": "wang.fang", "to_login": "wang.fang", "scope": "all"}
    )
    assert same.status_code == 422
    assert "请把客户移交给另一位员工" in same.text
    unknown = signed_in.post(
        "/handover/preview",
        {
            "from_login": "wang.fang",
            "to_login": "zhao.lei",
            "scope": "list",
            "refs": "phone:13800138000 taobao_nick:nobody 99999",
        },
    )
    assert unknown.status_code == 422
    assert "找不到：taobao_nick:nobody, 99999" in unknown.text
    missing = signed_in.post("/handover/preview", {"scope": "tag"})
    assert missing.status_code == 422
    assert "请选择移出客户的员工" in missing.text and "请输入标签" in missing.text
    assert not events(session)


def test_without_javascript_a_page_asks_first(
    signed_in: Browser, session: Session, team: dict[str, StaffUser]
) -> None:
    form = {"from_login": "wang.fang", "to_login": "zhao.lei", "scope": "all"}
    asked = signed_in.post("/handover", form)
    assert asked.status_code == 200
    assert "确定将 5 位客户从 王芳 (wang.fang) 移交给 赵磊 (zhao.lei) 吗？" in asked.text
    assert 'name="confirmed" value="1"' in asked.text
    assert owners(session)["客户0"] == "wang.fang"


def test_with_htmx_the_move_redirects_and_the_next_page_says_so(
    signed_in: Browser, session: Session, team: dict[str, StaffUser]
) -> None:
    form = {"from_login": "wang.fang", "to_login": "zhao.lei", "scope": "all", "confirmed": "1"}
    moved = signed_in.post("/handover", form, headers={"HX-Request": "true"})
    assert moved.status_code == 204
    assert moved.headers["hx-redirect"] == "/handover"
    assert "已将 5 位客户" in signed_in.get("/handover").text


def test_nothing_to_move(signed_in: Browser, team: dict[str, StaffUser]) -> None:
    form = {"from_login": "sun.li", "to_login": "zhao.lei", "scope": "all"}
    preview = signed_in.post("/handover/preview", form)
    assert "没有可移交的客户" in preview.text
    assert "hx-confirm" not in preview.text


def test_an_empty_pool_says_what_to_do(signed_in: Browser) -> None:
    page = signed_in.get("/handover")
    assert "还没有员工负责任何客户" in page.text
    assert 'href="/customers"' in page.text


@pytest.mark.parametrize("login", ["wang.fang", "chen.jing"])
def test_staff_and_viewers_may_not_hand_over(
    browser: Browser, session: Session, team: dict[str, StaffUser], login: str
) -> None:
    assert browser.sign_in(login).status_code == 303
    page = browser.get("/handover")
    assert page.status_code == 403
    assert "只有管理员和运营可以移交客户" in page.text
    form = {"from_login": "wang.fang", "to_login": "zhao.lei", "scope": "all"}
    assert browser.post("/handover/preview", form).status_code == 403
    assert browser.post("/handover", {**form, "confirmed": "1"}).status_code == 403
    assert owners(session)["客户0"] == "wang.fang"
    assert not events(session)


def test_an_operator_may_hand_over(
    browser: Browser, session: Session, team: dict[str, StaffUser]
) -> None:
    assert browser.sign_in("sun.li").status_code == 303
    browser.get("/handover")
    form = {"from_login": "wang.fang", "to_login": "zhao.lei", "scope": "all", "confirmed": "1"}
    assert browser.post("/handover", form).status_code == 303
    assert events(session)[0].actor == "staff:sun.li"


def test_the_move_needs_the_csrf_token(
    signed_in: Browser, session: Session, team: dict[str, StaffUser]
) -> None:
    form = {"from_login": "wang.fang", "to_login": "zhao.lei", "scope": "all", "confirmed": "1"}
    refused = signed_in.post("/handover", {**form, "csrf_token": "forged"})
    assert refused.status_code == 403
    assert owners(session)["客户0"] == "wang.fang"
