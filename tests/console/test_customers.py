"""The Customers list and the customer 360: search, filters, sorts, cursor pages, HTMX partials,
bulk actions, and every part of the 360 with the edits each role may (not) make."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.contacts import service as contacts_service
from siyu.contacts.identity import merge
from siyu.contacts.models import Contact, ContactConsent, ContactNote
from siyu.ingest.service import import_file
from siyu.kit.actor import Actor
from siyu.staff.models import StaffUser
from tests.console.conftest import Browser, make_staff

SYSTEM = Actor.system()
HTMX = {"HX-Request": "true", "HX-Target": "customer-results"}


def _contact(session: Session, name: str, *identities: str, **values: object) -> Contact:
    return contacts_service.create_contact(
        session, actor=SYSTEM, identities=list(identities), name=name, **values
    )


def _orders(session: Session, tmp_path: Path, *rows: str) -> None:
    header = "order_id,platform,shop,placed_at,status,total,refunded,currency,customer,items"
    path = tmp_path / "orders.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    summary = import_file(session, path)
    assert not summary.rows_rejected, summary


@pytest.fixture
def pool(session: Session, tmp_path: Path, admin: StaffUser) -> dict[str, Contact]:
    """Three customers: 小美 (Taobao + JD, tagged, two orders), 王强 (JD), 陈晨 (no orders)."""
    wang_staff = make_staff(session, "wang.fang", "staff", name="王芳")
    xiaomei = _contact(
        session,
        "小美",
        "phone:13800138001",
        "taobao_nick:xiaomei88",
        tags=["VIP", "兴趣:护肤"],
        owner="wang.fang",
    )
    wang = _contact(session, "王强", "jd_pin:wangqiang", owner="li.na")
    chen = _contact(session, "陈晨", "email:chen@example.com")
    _orders(
        session,
        tmp_path,
        "T1,taobao,美妆旗舰店,2026-03-01 10:00,completed,199,0,CNY,"
        "taobao_nick:xiaomei88,面霜 ×2 @99.5",
        "J1,jd,京东自营,2026-05-02 12:00,completed,88,0,CNY,phone:13800138001,精华",
        "J2,jd,京东自营,2026-04-01 09:00,completed,500,0,CNY,jd_pin:wangqiang,礼盒",
    )
    contacts_service.set_consent(
        session, contact=chen, channel="sms", granted=True, actor=SYSTEM, purpose="上新提醒"
    )
    session.flush()
    for contact in (xiaomei, wang, chen):
        session.refresh(contact)
    assert wang_staff.id
    return {"xiaomei": xiaomei, "wang": wang, "chen": chen}


def _names(html: str) -> list[str]:
    return re.findall(r'class="customer-name" href="/customers/\d+">([^<]+)</a>', html)


def _signed_in_as(
    client_factory: Callable[[], TestClient], session: Session, login: str, role: str | None
) -> Browser:
    if role:
        make_staff(session, login, role)
    browser = Browser(client_factory())
    assert browser.sign_in(login).status_code == 303
    browser.get("/customers")
    return browser


# The list


def test_list_shows_customers_newest_first(signed_in: Browser, pool: dict) -> None:
    page = signed_in.get("/customers")
    assert page.status_code == 200
    assert _names(page.text) == ["陈晨", "王强", "小美"]
    assert "¥287.00" in page.text  # 小美 spent 199 + 88
    assert "淘宝" in page.text and "京东" in page.text
    assert 'hx-trigger="keyup changed delay:300ms, search"' in page.text
    assert 'hx-push-url="true"' in page.text
    assert '<form class="customer-search" method="get" action="/customers"' in page.text


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("小美", ["小美"]),  # name
        ("王", ["王强"]),  # part of a name
        ("13800138001", ["小美"]),  # phone
        ("138 0013 8001", ["小美"]),  # phone as people type it
        ("phone:13800138001", ["小美"]),  # kind:value
        ("jd_pin:wangqiang", ["王强"]),
        ("xiaomei88", ["小美"]),  # any identity's value
        ("chen@example.com", ["陈晨"]),
        ("#VIP", ["小美"]),  # a tag
        ("tag:兴趣:护肤", ["小美"]),
        ("兴趣:护肤", ["小美"]),  # an existing group:name is a tag
        ("nobody-at-all", []),
    ],
)
def test_search(signed_in: Browser, pool: dict, q: str, expected: list[str]) -> None:
    page = signed_in.get("/customers", params={"q": q})
    assert page.status_code == 200
    assert _names(page.text) == expected
    if not expected:
        assert "没有符合条件的客户" in page.text


def test_a_plain_word_that_is_a_tag_offers_the_tag(signed_in: Browser, pool: dict) -> None:
    page = signed_in.get("/customers", params={"q": "VIP"})
    assert 'href="/customers?tag=VIP"' in page.text


def test_a_bad_identity_is_explained(signed_in: Browser, pool: dict) -> None:
    page = signed_in.get("/customers", params={"q": "phone:abc"})
    assert page.status_code == 200
    assert 'class="alert alert-error"' in page.text and _names(page.text) == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"tag": "VIP"}, ["小美"]),
        ({"platform": "jd"}, ["王强", "小美"]),
        ({"platform": "taobao"}, ["小美"]),
        ({"platform": "douyin"}, []),
        ({"owner": "wang.fang"}, ["小美"]),
        ({"owner": "-"}, ["陈晨"]),
        ({"min_orders": "1"}, ["王强", "小美"]),
        ({"min_orders": "2"}, ["小美"]),
        ({"consent": "sms"}, ["陈晨"]),
        ({"consent": "email"}, []),
        ({"platform": "jd", "owner": "li.na"}, ["王强"]),
    ],
)
def test_filters(signed_in: Browser, pool: dict, params: dict, expected: list[str]) -> None:
    assert _names(signed_in.get("/customers", params=params).text) == expected


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("newest", ["陈晨", "王强", "小美"]),
        ("total_spent", ["王强", "小美", "陈晨"]),
        ("order_count", ["小美", "王强", "陈晨"]),
        ("last_order", ["小美", "王强", "陈晨"]),  # 小美 ordered in May; 陈晨 never, so last
    ],
)
def test_sorts(signed_in: Browser, pool: dict, sort: str, expected: list[str]) -> None:
    assert _names(signed_in.get("/customers", params={"sort": sort}).text) == expected


@pytest.mark.parametrize("sort", ["newest", "total_spent", "last_order", "order_count"])
def test_cursor_pages_walk_every_customer_once(
    signed_in: Browser, session: Session, sort: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from siyu.console.views import customers

    monkeypatch.setattr(customers, "PAGE_SIZE", 3)
    for i in range(8):
        contact = _contact(session, f"客户{i}")
        contact.total_spent = (i % 3) * 100  # ties, so the id breaks them
        contact.order_count = i % 2
    session.flush()
    seen: list[str] = []
    url: str | None = f"/customers?sort={sort}"
    pages: list[str] = []
    while url:
        page = signed_in.get(url)
        pages.append(url)
        seen += _names(page.text)
        match = re.search(r'href="([^"]+)" rel="next"', page.text)
        url = match.group(1).replace("&amp;", "&") if match else None
    assert sorted(seen) == sorted(f"客户{i}" for i in range(8))
    assert len(pages) == 3
    # Previous goes back to the page before.
    third = signed_in.get(pages[2]).text
    back = re.search(r'href="([^"]+)" rel="prev"', third).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(back).query).get("cursor") == parse_qs(urlsplit(pages[1]).query).get(
        "cursor"
    )


def test_a_forged_cursor_is_refused_politely(signed_in: Browser, pool: dict) -> None:
    page = signed_in.get("/customers", params={"cursor": "bm9wZQ", "sort": "total_spent"})
    assert page.status_code == 200 and 'class="alert alert-error"' in page.text


def test_htmx_gets_only_the_results(signed_in: Browser, pool: dict) -> None:
    partial = signed_in.get("/customers", params={"q": "小美"}, headers=HTMX)
    assert partial.status_code == 200
    assert _names(partial.text) == ["小美"]
    assert "<html" not in partial.text and "sidenav" not in partial.text
    assert partial.headers["hx-push-url"] == "/customers?q=%E5%B0%8F%E7%BE%8E"
    full = signed_in.get("/customers", params={"q": "小美"})
    assert "<html" in full.text and 'id="customer-results"' in full.text
    # A history restore needs the whole page.
    restore = signed_in.get(
        "/customers", params={"q": "小美"}, headers={**HTMX, "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restore.text


def test_empty_pool_says_to_import(signed_in: Browser) -> None:
    page = signed_in.get("/customers")
    assert "还没有客户" in page.text and 'href="/imports"' in page.text


# Bulk actions


def test_bulk_tag(signed_in: Browser, pool: dict, session: Session) -> None:
    ids = [str(pool["wang"].id), str(pool["chen"].id)]
    response = signed_in.post(
        "/customers/bulk",
        {"action": "tag", "ids": ids, "tags": "复购, 人群:白领", "back": "/customers?q=x"},
    )
    assert response.status_code == 303 and response.headers["location"] == "/customers?q=x"
    assert "已给 2 位客户打标签（新增 4 个）" in signed_in.get(response.headers["location"]).text
    assert _names(signed_in.get("/customers", params={"tag": "人群:白领"}).text) == [
        "陈晨",
        "王强",
    ]


def test_bulk_tag_with_htmx_returns_the_results_and_a_toast(signed_in: Browser, pool: dict) -> None:
    response = signed_in.client.post(
        "/customers/bulk",
        data={"action": "tag", "ids": [str(pool["chen"].id)], "tags": "新客", "back": "/customers"},
        headers={"HX-Request": "true", "X-CSRF-Token": signed_in.csrf},
    )
    assert response.status_code == 200
    assert "siyu:toast" in response.headers["hx-trigger"]
    assert "新客" in response.text and "<html" not in response.text


def test_bulk_assign(signed_in: Browser, pool: dict, session: Session) -> None:
    ids = [str(pool["wang"].id), str(pool["chen"].id)]
    response = signed_in.post(
        "/customers/bulk", {"action": "assign", "ids": ids, "owner": "wang.fang"}
    )
    assert response.status_code == 303
    owners = session.execute(
        select(Contact.owner_id).where(Contact.id.in_([pool["wang"].id, pool["chen"].id]))
    ).scalars()
    wang_fang = session.execute(
        select(StaffUser).where(StaffUser.login == "wang.fang")
    ).scalar_one()
    assert set(owners) == {wang_fang.id}
    assert _names(signed_in.get("/customers", params={"owner": "wang.fang"}).text) == [
        "陈晨",
        "王强",
        "小美",
    ]


def test_viewer_sees_no_bulk_actions_and_is_refused(
    client_factory: Callable[[], TestClient], session: Session, pool: dict
) -> None:
    viewer = _signed_in_as(client_factory, session, "zhao.kan", "viewer")
    page = viewer.get("/customers")
    assert _names(page.text) == ["陈晨", "王强", "小美"]
    assert 'name="ids"' not in page.text and "/customers/bulk" not in page.text
    response = viewer.post(
        "/customers/bulk", {"action": "tag", "ids": [str(pool["chen"].id)], "tags": "x"}
    )
    assert response.status_code == 303
    assert "不能给客户打标签" in viewer.get(response.headers["location"]).text
    assert contacts_service.profile(session, pool["chen"], recent_orders=0)["tags"] == []


def test_staff_bulk_actions_cover_their_own_customers_only(
    client_factory: Callable[[], TestClient], session: Session, pool: dict
) -> None:
    staff = _signed_in_as(client_factory, session, "wang.fang", None)
    page = staff.get("/customers")
    assert _names(page.text) == ["小美"]  # only their own
    assert 'value="tag"' in page.text and 'value="assign"' not in page.text
    own, other = str(pool["xiaomei"].id), str(pool["wang"].id)
    response = staff.post("/customers/bulk", {"action": "tag", "ids": [own, other], "tags": "x"})
    assert "属于其他导购" in staff.get(response.headers["location"]).text
    assert "x" not in contacts_service.profile(session, pool["wang"], recent_orders=0)["tags"]
    assert "x" not in contacts_service.profile(session, pool["xiaomei"], recent_orders=0)["tags"]
    response = staff.post("/customers/bulk", {"action": "tag", "ids": [own], "tags": "x"})
    assert "x" in contacts_service.profile(session, pool["xiaomei"], recent_orders=0)["tags"]
    response = staff.post("/customers/bulk", {"action": "assign", "ids": [own], "owner": "li.na"})
    assert "不能修改客户" in staff.get(response.headers["location"]).text


def test_posts_need_the_csrf_token(signed_in: Browser, pool: dict) -> None:
    response = signed_in.post(
        "/customers/bulk",
        {"action": "tag", "ids": [str(pool["chen"].id)], "tags": "x", "csrf_token": "forged"},
    )
    assert response.status_code == 403
    response = signed_in.post(
        f"/customers/{pool['chen'].id}/notes", {"body": "x", "csrf_token": ""}
    )
    assert response.status_code == 403


# The customer 360


def test_360_shows_everything(signed_in: Browser, pool: dict, session: Session) -> None:
    xiaomei = pool["xiaomei"]
    contacts_service.add_note(session, contact=xiaomei, body="喜欢保湿类产品", actor=SYSTEM)
    session.flush()
    page = signed_in.get(f"/customers/{xiaomei.id}")
    assert page.status_code == 200
    text = page.text
    assert "小美" in text and "wang.fang" in text  # the owner
    assert "13800138001" in text and "xiaomei88" in text  # identities
    assert "淘宝昵称" in text
    assert "¥287.00" in text and "¥143.50" in text  # total, average
    # Orders from both shops, newest first, with their lines.
    assert text.index("<code>J1</code>") < text.index("<code>T1</code>")
    assert "美妆旗舰店" in text and "面霜" in text and "京东自营" in text
    assert "已完成" in text
    assert "护肤" in text and "兴趣" in text and "VIP" in text  # tags, grouped
    assert "喜欢保湿类产品" in text  # notes
    assert "短信" in text and "未询问" in text  # consent per channel
    assert "从未合并" in text


def test_360_shows_consent_and_merge_history(
    signed_in: Browser, pool: dict, session: Session
) -> None:
    chen = signed_in.get(f"/customers/{pool['chen'].id}").text
    assert "已同意" in chen and "上新提醒" in chen
    merge(
        session,
        survivor=pool["xiaomei"].id,
        absorbed=pool["chen"].id,
        actor="test",
        reason="same person",
        evidence={"identities": ["email:chen@example.com"]},
    )
    session.flush()
    text = signed_in.get(f"/customers/{pool['xiaomei'].id}").text
    assert f"客户 #{pool['chen'].id} 合并到 #{pool['xiaomei'].id}" in text
    assert "same person" in text and "email:chen@example.com" in text


def test_a_merged_id_redirects_to_the_survivor(
    signed_in: Browser, pool: dict, session: Session
) -> None:
    merge(session, survivor=pool["xiaomei"].id, absorbed=pool["chen"].id, actor="test", reason="x")
    session.expunge(pool["chen"])  # a request's own session would not hold the absorbed row
    response = signed_in.get(f"/customers/{pool['chen'].id}?sidebar=1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/customers/{pool['xiaomei'].id}?sidebar=1"
    by_identity = signed_in.get("/customers/phone:13800138001", follow_redirects=False)
    assert by_identity.headers["location"] == f"/customers/{pool['xiaomei'].id}"


def test_unknown_customer_is_a_friendly_404(signed_in: Browser) -> None:
    response = signed_in.get("/customers/999999")
    assert response.status_code == 404 and "Traceback" not in response.text


def test_sidebar_renders_without_navigation(signed_in: Browser, pool: dict) -> None:
    text = signed_in.get(f"/customers/{pool['xiaomei'].id}?sidebar=1").text
    assert "小美" in text and "xiaomei88" in text
    assert "sidenav" not in text and 'class="sidebar-page"' in text
    assert 'name="sidebar" value="1"' in text


def test_add_and_remove_a_tag(signed_in: Browser, pool: dict, session: Session) -> None:
    cid = pool["chen"].id
    response = signed_in.post(f"/customers/{cid}/tags", {"tags": "兴趣:彩妆"})
    assert response.status_code == 303 and response.headers["location"] == f"/customers/{cid}#tags"
    assert "兴趣:彩妆" in contacts_service.profile(session, pool["chen"], recent_orders=0)["tags"]
    # With HTMX: the tags section comes back with a toast.
    response = signed_in.client.post(
        f"/customers/{cid}/tags/remove",
        data={"tag": "兴趣:彩妆"},
        headers={"HX-Request": "true", "X-CSRF-Token": signed_in.csrf},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="tags"')
    assert "彩妆" not in response.text and "siyu:toast" in response.headers["hx-trigger"]
    assert contacts_service.profile(session, pool["chen"], recent_orders=0)["tags"] == []


def test_add_a_note(signed_in: Browser, pool: dict, session: Session) -> None:
    cid = pool["chen"].id
    response = signed_in.post(f"/customers/{cid}/notes", {"body": "周末来店里试用"})
    assert response.status_code == 303
    notes = session.execute(select(ContactNote).where(ContactNote.contact_id == cid)).scalars()
    assert [(n.body, n.author) for n in notes] == [("周末来店里试用", "staff:li.na")]
    assert "周末来店里试用" in signed_in.get(f"/customers/{cid}").text
    empty = signed_in.post(f"/customers/{cid}/notes", {"body": "  "})
    assert "备注需要内容" in signed_in.get(empty.headers["location"]).text


def test_change_owner(signed_in: Browser, pool: dict, session: Session) -> None:
    cid = pool["chen"].id
    response = signed_in.post(f"/customers/{cid}/owner", {"owner": "wang.fang"})
    assert response.status_code == 303
    session.refresh(pool["chen"])
    assert pool["chen"].owner_id is not None
    signed_in.post(f"/customers/{cid}/owner", {"owner": ""})
    session.refresh(pool["chen"])
    assert pool["chen"].owner_id is None


def test_set_and_withdraw_consent(signed_in: Browser, pool: dict, session: Session) -> None:
    cid = pool["wang"].id
    signed_in.post(
        f"/customers/{cid}/consent", {"channel": "wecom", "granted": "1", "purpose": "会员活动"}
    )
    consent = session.execute(
        select(ContactConsent).where(ContactConsent.contact_id == cid)
    ).scalar_one()
    assert (consent.channel, consent.granted, consent.purpose) == ("wecom", True, "会员活动")
    signed_in.post(f"/customers/{cid}/consent", {"channel": "wecom", "granted": "0"})
    session.refresh(consent)
    assert consent.granted is False
    assert "已撤回" in signed_in.get(f"/customers/{cid}").text


def test_add_and_remove_an_identity(signed_in: Browser, pool: dict, session: Session) -> None:
    cid = pool["wang"].id
    response = signed_in.post(
        f"/customers/{cid}/identities", {"kind": "phone", "value": "139 0000 1111"}
    )
    assert response.status_code == 303
    assert "13900001111" in signed_in.get(f"/customers/{cid}").text
    # Without JavaScript removal asks first.
    ask = signed_in.post(f"/customers/{cid}/identities/remove", {"identity": "phone:13900001111"})
    assert ask.status_code == 200 and 'name="confirmed"' in ask.text
    signed_in.post(
        f"/customers/{cid}/identities/remove", {"identity": "phone:13900001111", "confirmed": "1"}
    )
    assert "13900001111" not in signed_in.get(f"/customers/{cid}").text


def test_adding_anothers_identity_merges_and_lands_on_the_survivor(
    signed_in: Browser, pool: dict
) -> None:
    chen, wang = pool["chen"].id, pool["wang"].id
    response = signed_in.post(
        f"/customers/{chen}/identities", {"kind": "jd_pin", "value": "wangqiang"}
    )
    survivor = min(chen, wang)
    assert response.headers["location"] == f"/customers/{survivor}#identities"
    text = signed_in.get(f"/customers/{survivor}").text
    assert "合并" in text and "jd_pin:wangqiang" in text


def test_more_orders_page_on(
    signed_in: Browser, pool: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from siyu.console.views import customer_360

    monkeypatch.setattr(customer_360, "ORDERS_PAGE", 1)
    cid = pool["xiaomei"].id
    text = signed_in.get(f"/customers/{cid}").text
    assert "<code>J1</code>" in text and "<code>T1</code>" not in text
    more = re.search(r'hx-get="(/customers/\d+/orders\?cursor=[^"]+)"', text).group(1)
    rows = signed_in.get(more, headers={"HX-Request": "true"}).text
    assert "<code>T1</code>" in rows and "<html" not in rows and "显示更多订单" not in rows
    assert "<code>T1</code>" in signed_in.get(more).text  # without JavaScript: a page of its own


def test_staff_cannot_open_another_staff_members_customer(
    client_factory: Callable[[], TestClient], session: Session, pool: dict
) -> None:
    staff = _signed_in_as(client_factory, session, "wang.fang", None)
    own = staff.get(f"/customers/{pool['xiaomei'].id}")
    assert own.status_code == 200 and "小美" in own.text
    # Staff may tag and note their own customers, but not change owner, identities or consent.
    assert f'action="/customers/{pool["xiaomei"].id}/tags"' in own.text
    assert "/owner" not in own.text and "/consent" not in own.text
    other = staff.get(f"/customers/{pool['wang'].id}")
    assert other.status_code == 403
    assert "王强" not in other.text and "jd_pin" not in other.text
    assert "属于其他导购" in other.text
    response = staff.post(f"/customers/{pool['wang'].id}/notes", {"body": "偷看"})
    assert response.status_code == 403
    assert session.execute(select(ContactNote)).first() is None


def test_viewer_reads_the_360_without_edit_controls(
    client_factory: Callable[[], TestClient], session: Session, pool: dict
) -> None:
    viewer = _signed_in_as(client_factory, session, "zhao.kan", "viewer")
    text = viewer.get(f"/customers/{pool['xiaomei'].id}").text
    assert "xiaomei88" in text
    for action in ("/tags", "/notes", "/owner", "/consent", "/identities"):
        assert f'action="/customers/{pool["xiaomei"].id}{action}' not in text
    response = viewer.post(f"/customers/{pool['xiaomei'].id}/tags", {"tags": "x"})
    assert "不能给客户打标签" in viewer.get(response.headers["location"]).text


def test_360_in_english(signed_in: Browser, pool: dict) -> None:
    signed_in.get("/lang/en")
    text = signed_in.get(f"/customers/{pool['xiaomei'].id}").text
    assert "Orders from every shop" in text and "Taobao nickname" in text
    assert "CN¥287.00" in text


# The bulk services themselves: the console and any later API caller share these checks.


def test_bulk_services_check_roles_on_every_selected_customer(session: Session, pool: dict) -> None:
    from siyu.contacts import handover
    from siyu.errors import Forbidden, Invalid

    viewer = make_staff(session, "zhao.kan", "viewer")
    wang_fang = session.execute(
        select(StaffUser).where(StaffUser.login == "wang.fang")
    ).scalar_one()
    as_viewer = Actor("staff:zhao.kan", staff_id=viewer.id, role="viewer")
    as_staff = Actor("staff:wang.fang", staff_id=wang_fang.id, role="staff")
    ids = [pool["xiaomei"].id, pool["wang"].id]
    with pytest.raises(Forbidden):
        contacts_service.bulk_add_tags(session, contact_ids=ids, tags=["x"], actor=as_viewer)
    with pytest.raises(Forbidden):
        contacts_service.bulk_add_tags(session, contact_ids=ids, tags=["x"], actor=as_staff)
    with pytest.raises(Forbidden):
        handover.assign(session, contact_ids=ids[:1], to_login="li.na", actor=as_staff)
    with pytest.raises(Invalid):
        contacts_service.bulk_add_tags(session, contact_ids=[], tags=["x"], actor=SYSTEM)
    assert (
        contacts_service.bulk_add_tags(
            session, contact_ids=ids[:1], tags=["x", "兴趣:护肤"], actor=as_staff
        )
        == 1  # 兴趣:护肤 was there already
    )


def test_bulk_services_follow_merged_ids(session: Session, pool: dict) -> None:
    from siyu.contacts import handover

    merge(session, survivor=pool["xiaomei"].id, absorbed=pool["chen"].id, actor="test", reason="x")
    session.expunge(pool["chen"])
    moved = handover.assign(
        session, contact_ids=[pool["chen"].id, pool["xiaomei"].id], to_login="li.na", actor=SYSTEM
    )
    assert moved == 1
    session.refresh(pool["xiaomei"])
    assert pool["xiaomei"].owner_id is not None
    assert (
        contacts_service.bulk_add_tags(
            session, contact_ids=[pool["chen"].id], tags=["合并后"], actor=SYSTEM
        )
        == 1
    )
    assert "合并后" in contacts_service.profile(session, pool["xiaomei"], recent_orders=0)["tags"]
