"""Contacts over the API: list and search, the customer 360, create, update, identities, tags,
notes and consent, each change audited as the key that made it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audit.models import AuditEvent
from siyu.contacts.models import Contact
from siyu.kit.actor import Actor
from siyu.staff import service as staff_service
from tests.api.conftest import Api, assert_problem

URL = "/api/v1/contacts"


def create(api: Api, **body: Any) -> dict[str, Any]:
    return api.ok("POST", URL, 201, json=body, scope="write")


def audit_actions(session: Session, contact_id: int) -> list[tuple[str, str]]:
    return [
        (e.action, e.actor)
        for e in session.execute(
            select(AuditEvent)
            .where(AuditEvent.subject_type == "contact", AuditEvent.subject_id == str(contact_id))
            .order_by(AuditEvent.id)
        ).scalars()
    ]


def all_pages(api: Api, url: str, **params: Any) -> list[list[int]]:
    pages: list[list[int]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = api.ok("GET", url, params=query, scope="read")
        pages.append([item["id"] for item in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20, "pagination does not end"


# --- list, pagination and filters --------------------------------------------------------------


def test_list_pages_through_every_contact_once(api: Api) -> None:
    ids = [create(api, identities=[f"external_id:m{i}"], name=f"会员{i}")["id"] for i in range(7)]
    pages = all_pages(api, URL, limit=3)
    assert [len(p) for p in pages] == [3, 3, 1]
    seen = [cid for page in pages for cid in page]
    # Newest first, no duplicates, no gaps.
    assert seen == sorted(ids, reverse=True)


def test_list_exactly_one_full_page_has_no_next_cursor(api: Api) -> None:
    for i in range(3):
        create(api, identities=[f"external_id:x{i}"])
    page = api.ok("GET", URL, params={"limit": 3}, scope="read")
    assert len(page["items"]) == 3
    assert page["next_cursor"] is None


def test_list_items_carry_the_summary(api: Api) -> None:
    create(api, identities=["phone:13800138000", "taobao_nick:小王"], name="王小明", tags=["VIP"])
    (item,) = api.ok("GET", URL, scope="read")["items"]
    assert item["name"] == "王小明"
    assert {"kind": "phone", "value": "+8613800138000"} in item["identities"]
    assert item["tags"] == ["VIP"]
    assert item["order_count"] == 0


def test_filter_by_tag(api: Api) -> None:
    vip = create(api, identities=["external_id:a"], tags=["人群:VIP"])
    create(api, identities=["external_id:b"], tags=["VIP"])  # same name, no group: another tag
    create(api, identities=["external_id:c"])
    found = api.ok("GET", URL, params={"tag": "人群:VIP"}, scope="read")["items"]
    assert [c["id"] for c in found] == [vip["id"]]
    # The full-width colon Chinese keyboards type is read as the group separator too.
    found = api.ok("GET", URL, params={"tag": "人群：VIP"}, scope="read")["items"]
    assert [c["id"] for c in found] == [vip["id"]]


def test_filter_by_identity_normalises_the_value(api: Api) -> None:
    wang = create(api, identities=["phone:13800138000"])
    create(api, identities=["phone:13900139000"])
    for spelling in ("phone:13800138000", "phone:+86 138 0013 8000", "phone:138-0013-8000"):
        found = api.ok("GET", URL, params={"identity": spelling}, scope="read")["items"]
        assert [c["id"] for c in found] == [wang["id"]], spelling


@pytest.mark.parametrize(
    "spelling", ["13800138000", "+8613800138000", "138 0013 8000", "+86-138-0013-8000"]
)
def test_search_by_phone_in_any_spelling(api: Api, spelling: str) -> None:
    wang = create(api, identities=["phone:13800138000"], name="王小明")
    create(api, identities=["phone:13900139000"], name="张三")
    found = api.ok("GET", URL, params={"q": spelling}, scope="read")["items"]
    assert [c["id"] for c in found] == [wang["id"]]


def test_search_by_name_email_and_identity_value(api: Api) -> None:
    wang = create(api, identities=["email:wang@example.com", "taobao_nick:小王"], name="王小明")
    zhang = create(api, identities=["jd_pin:zhang_san"], name="张三")
    assert [c["id"] for c in api.ok("GET", URL, params={"q": "小明"}, scope="read")["items"]] == [
        wang["id"]
    ]
    for q, expected in [("WANG@example.com", wang), ("小王", wang), ("zhang_san", zhang)]:
        found = api.ok("GET", URL, params={"q": q}, scope="read")["items"]
        assert [c["id"] for c in found] == [expected["id"]], q
    assert api.ok("GET", URL, params={"q": "nobody"}, scope="read")["items"] == []


def test_filters_combine_and_paginate(api: Api) -> None:
    tagged = [
        create(api, identities=[f"external_id:t{i}"], name=f"王{i}", tags=["兴趣:护肤"])["id"]
        for i in range(5)
    ]
    create(api, identities=["external_id:other"], name="王other")
    pages = all_pages(api, URL, q="王", tag="兴趣:护肤", limit=2)
    assert [cid for page in pages for cid in page] == sorted(tagged, reverse=True)


# --- the customer 360 --------------------------------------------------------------------------


def test_customer_360(api: Api, orders: dict[str, Any]) -> None:
    wang = api.ok("GET", f"{URL}/taobao_nick:小王", scope="read")
    zhang = api.ok("GET", f"{URL}/jd_pin:zhang_san", scope="read")
    ref = wang["id"]
    api.ok("POST", f"{URL}/{ref}/tags", json={"tags": ["兴趣:护肤", "VIP"]}, scope="write")
    api.ok("POST", f"{URL}/{ref}/notes", 201, json={"body": "喜欢玫瑰味"}, scope="write")
    api.ok(
        "PUT", f"{URL}/{ref}/consents/sms", json={"granted": True, "purpose": "新品"}, scope="write"
    )
    # Zhang turns out to be the same person: his JD account is added to Wang, the two merge.
    api.ok("POST", f"{URL}/{ref}/identities", json={"identity": "jd_pin:zhang_san"}, scope="write")

    profile = api.ok("GET", f"{URL}/{ref}", scope="read")
    assert profile["id"] == min(wang["id"], zhang["id"])
    assert profile["name"] == "王小明"
    assert {(i["kind"], i["value"]) for i in profile["identities"]} == {
        ("taobao_nick", "小王"),
        ("phone", "+8613800138000"),
        ("jd_pin", "zhang_san"),
        ("email", "zhang@example.com"),
    }
    # Rollups over all three orders, money in fen.
    assert profile["order_count"] == 3
    assert profile["total_spent"] == 12900 + 5990 + 129900
    assert profile["average_order_value"] == round((12900 + 5990 + 129900) / 3)
    assert sorted(profile["platforms"]) == ["jd", "taobao"]
    assert profile["first_order_at"].startswith("2024-02-10T01:00:00")  # 09:00 Shanghai, in UTC
    assert profile["last_order_at"].startswith("2024-04-02T12:30:00")
    assert sorted(profile["tags"]) == ["VIP", "兴趣:护肤"]
    assert [n["body"] for n in profile["notes"]] == ["喜欢玫瑰味"]
    assert profile["notes"][0]["author"] == f"apikey:{api.keys.ids['write']}"
    (consent,) = profile["consents"]
    assert (consent["channel"], consent["granted"], consent["purpose"]) == ("sms", True, "新品")
    # Recent orders newest first, each with its lines.
    recent = profile["recent_orders"]
    assert [o["platform_order_id"] for o in recent] == ["T1002", "T1001", "J2001"]
    first = recent[1]
    assert first["total_amount"] == 12900
    assert [(li["title"], li["quantity"], li["unit_price"]) for li in first["lines"]] == [
        ("玫瑰精华", 2, 4950),
        ("小样", 1, 3000),
    ]
    # Merge history: who was absorbed, why, by whom.
    absorbed = max(wang["id"], zhang["id"])
    assert profile["merged_ids"] == [absorbed]
    (merge,) = profile["merges"]
    assert merge["absorbed_id"] == absorbed
    assert merge["survivor_id"] == profile["id"]
    assert merge["actor"] == f"apikey:{api.keys.ids['write']}"
    assert "jd_pin" in merge["reason"]


def test_absorbed_id_returns_the_survivor(api: Api) -> None:
    first = create(api, identities=["taobao_nick:小王"])
    second = create(api, identities=["jd_pin:wang"])
    api.ok(
        "POST",
        f"{URL}/{second['id']}/identities",
        json={"identity": "taobao_nick:小王"},
        scope="write",
    )
    for ref in (first["id"], second["id"], "jd_pin:wang", "taobao_nick:小王"):
        profile = api.ok("GET", f"{URL}/{ref}", scope="read")
        assert profile["id"] == first["id"], ref
        assert profile["merged_ids"] == [second["id"]]
    # Writes through the old id land on the survivor too.
    api.ok("POST", f"{URL}/{second['id']}/notes", 201, json={"body": "老id"}, scope="write")
    assert [n["body"] for n in api.ok("GET", f"{URL}/{first['id']}/notes", scope="read")] == [
        "老id"
    ]


def test_get_by_kind_value(api: Api) -> None:
    created = create(api, identities=["phone:13800138000", "email:wang@example.com"])
    for ref in ("phone:13800138000", "phone:+86 138 0013 8000", "email:WANG@example.com"):
        assert api.ok("GET", f"{URL}/{ref}", scope="read")["id"] == created["id"], ref
    assert_problem(api.get(f"{URL}/phone:13900139000", scope="read"), 404, "+8613900139000")
    assert_problem(api.get(f"{URL}/999999", scope="read"), 404, "999999")


# --- create and update -------------------------------------------------------------------------


def test_create(api: Api, session: Session, keys: Any) -> None:
    created = create(
        api,
        identities=["phone:138 0013 8000", "wechat_unionid:oUNION1"],
        name="王小明",
        city="杭州",
        province="浙江",
        owner="li.na",
        traits={"skin": "dry"},
        tags=["兴趣:护肤"],
    )
    assert created["name"] == "王小明"
    assert (created["city"], created["province"]) == ("杭州", "浙江")
    assert created["owner"] == "li.na"
    assert created["traits"] == {"skin": "dry"}
    assert created["tags"] == ["兴趣:护肤"]
    assert {(i["kind"], i["value"]) for i in created["identities"]} == {
        ("phone", "+8613800138000"),
        ("wechat_unionid", "oUNION1"),
    }
    assert api.ok("GET", f"{URL}/{created['id']}", scope="read") == created
    assert ("contact.create", f"apikey:{keys.ids['write']}") in audit_actions(
        session, created["id"]
    )


def test_create_with_a_taken_identity_is_409_and_changes_nothing(
    api: Api, session: Session
) -> None:
    first = create(api, identities=["phone:13800138000"])
    before = session.execute(select(Contact.id)).scalars().all()
    response = api.post(
        URL, json={"identities": ["email:new@example.com", "phone:+8613800138000"]}, scope="write"
    )
    body = assert_problem(response, 409, "+8613800138000", str(first["id"]))
    assert body["contact_id"] == first["id"]
    assert session.execute(select(Contact.id)).scalars().all() == before
    assert api.ok("GET", URL, params={"q": "new@example.com"}, scope="read")["items"] == []


def test_update(api: Api, session: Session) -> None:
    staff_service.create_staff(session, login="zhao", actor=Actor.system())
    created = create(api, identities=["external_id:1"], name="旧名", traits={"a": 1})
    updated = api.ok(
        "PATCH",
        f"{URL}/{created['id']}",
        json={"name": "新名", "city": "上海", "owner": "zhao", "traits": {"b": 2}},
        scope="write",
    )
    assert (updated["name"], updated["city"], updated["owner"]) == ("新名", "上海", "zhao")
    assert updated["traits"] == {"a": 1, "b": 2}  # merged, not replaced
    # Fields left out stay; null unassigns the owner.
    updated = api.ok("PATCH", f"{URL}/{created['id']}", json={"owner": None}, scope="write")
    assert (updated["name"], updated["owner"]) == ("新名", None)
    events = (
        session.execute(
            select(AuditEvent)
            .where(
                AuditEvent.action == "contact.update", AuditEvent.subject_id == str(created["id"])
            )
            .order_by(AuditEvent.id)
        )
        .scalars()
        .all()
    )
    assert events[0].actor == f"apikey:{api.keys.ids['write']}"
    assert events[0].detail["before"]["name"] == "旧名"


def test_update_owner_must_be_a_staff_login(api: Api) -> None:
    created = create(api, identities=["external_id:1"], name="王")
    response = api.patch(
        f"{URL}/{created['id']}", json={"owner": "nobody", "name": "x"}, scope="write"
    )
    assert_problem(response, 422, "owner", "nobody", "staff login")
    # Nothing of the failed request stuck.
    assert api.ok("GET", f"{URL}/{created['id']}", scope="read")["name"] == "王"


def test_create_owner_must_be_a_staff_login(api: Api) -> None:
    response = api.post(
        URL, json={"identities": ["external_id:1"], "owner": "ghost"}, scope="write"
    )
    assert_problem(response, 422, "ghost", "staff login")
    assert api.ok("GET", URL, scope="read")["items"] == []


# --- identities --------------------------------------------------------------------------------


def test_add_identity(api: Api, session: Session) -> None:
    created = create(api, identities=["external_id:1"])
    profile = api.ok(
        "POST",
        f"{URL}/{created['id']}/identities",
        json={"identity": "email:A@Example.com"},
        scope="write",
    )
    assert {"kind": "email", "value": "a@example.com"} in profile["identities"]
    assert ("contact.identity_add", f"apikey:{api.keys.ids['write']}") in audit_actions(
        session, created["id"]
    )


def test_add_identity_held_by_another_contact_merges_them(api: Api, session: Session) -> None:
    wang = create(api, identities=["taobao_nick:小王"], tags=["VIP"])
    other = create(api, identities=["phone:13800138000"], name="王小明")
    api.ok("POST", f"{URL}/{other['id']}/notes", 201, json={"body": "门店客户"}, scope="write")
    profile = api.ok(
        "POST",
        f"{URL}/{other['id']}/identities",
        json={"identity": "taobao_nick:小王"},
        scope="write",
    )
    # The older contact survives and keeps everything of both.
    assert profile["id"] == wang["id"]
    assert profile["merged_ids"] == [other["id"]]
    assert {(i["kind"], i["value"]) for i in profile["identities"]} == {
        ("taobao_nick", "小王"),
        ("phone", "+8613800138000"),
    }
    assert profile["tags"] == ["VIP"]
    assert [n["body"] for n in profile["notes"]] == ["门店客户"]
    assert profile["name"] == "王小明"
    assert session.get(Contact, other["id"]) is None
    assert ("contact.merge", f"apikey:{api.keys.ids['write']}") in audit_actions(
        session, wang["id"]
    )
    listed = [c["id"] for c in api.ok("GET", URL, scope="read")["items"]]
    assert listed == [wang["id"]]


def test_remove_identity(api: Api, session: Session) -> None:
    created = create(api, identities=["phone:13800138000", "external_id:1"])
    response = api.delete(
        f"{URL}/{created['id']}/identities/phone:+86 138 0013 8000", scope="write"
    )
    assert response.status_code == 204, response.text
    assert response.content == b""
    profile = api.ok("GET", f"{URL}/{created['id']}", scope="read")
    assert profile["identities"] == [{"kind": "external_id", "value": "1"}]
    assert_problem(api.get(f"{URL}/phone:13800138000", scope="read"), 404)
    assert ("contact.identity_remove", f"apikey:{api.keys.ids['write']}") in audit_actions(
        session, created["id"]
    )
    again = api.delete(f"{URL}/{created['id']}/identities/phone:13800138000", scope="write")
    assert_problem(again, 404, "phone:+8613800138000")


# --- tags, notes, consent ----------------------------------------------------------------------


def test_tags_add_and_remove(api: Api, session: Session) -> None:
    created = create(api, identities=["external_id:1"])
    cid = created["id"]
    profile = api.ok(
        "POST", f"{URL}/{cid}/tags", json={"tags": ["VIP", "兴趣:护肤"]}, scope="write"
    )
    assert sorted(profile["tags"]) == ["VIP", "兴趣:护肤"]
    details = {d["label"]: d for d in profile["tag_details"]}
    assert details["兴趣:护肤"]["group"] == "兴趣"
    # Adding again changes nothing.
    profile = api.ok("POST", f"{URL}/{cid}/tags", json={"tags": ["VIP"]}, scope="write")
    assert sorted(profile["tags"]) == ["VIP", "兴趣:护肤"]
    response = api.delete(f"{URL}/{cid}/tags/兴趣:护肤", scope="write")
    assert response.status_code == 204, response.text
    assert api.ok("GET", f"{URL}/{cid}", scope="read")["tags"] == ["VIP"]
    assert_problem(api.delete(f"{URL}/{cid}/tags/兴趣:护肤", scope="write"), 404, "兴趣:护肤")
    actions = audit_actions(session, cid)
    actor = f"apikey:{api.keys.ids['write']}"
    assert ("contact.tag_add", actor) in actions
    assert ("contact.tag_remove", actor) in actions


def test_notes(api: Api, session: Session) -> None:
    cid = create(api, identities=["external_id:1"])["id"]
    first = api.ok("POST", f"{URL}/{cid}/notes", 201, json={"body": "  第一条  "}, scope="write")
    assert first["body"] == "第一条"
    assert first["author"] == f"apikey:{api.keys.ids['write']}"
    api.ok("POST", f"{URL}/{cid}/notes", 201, json={"body": "第二条"}, scope="write")
    notes = api.ok("GET", f"{URL}/{cid}/notes", scope="read")
    assert [n["body"] for n in notes] == ["第二条", "第一条"]  # newest first
    assert notes[1]["id"] == first["id"]
    assert_problem(api.post(f"{URL}/{cid}/notes", json={"body": "   "}, scope="write"), 422, "text")
    assert len(api.ok("GET", f"{URL}/{cid}/notes", scope="read")) == 2
    assert ("contact.note_add", f"apikey:{api.keys.ids['write']}") in audit_actions(session, cid)


def test_consent(api: Api, session: Session) -> None:
    cid = create(api, identities=["external_id:1"])["id"]
    consents = api.ok(
        "PUT",
        f"{URL}/{cid}/consents/email",
        json={"granted": True, "purpose": "会员通讯"},
        scope="write",
    )
    assert [(c["channel"], c["granted"], c["purpose"], c["source"]) for c in consents] == [
        ("email", True, "会员通讯", "api")
    ]
    consents = api.ok("PUT", f"{URL}/{cid}/consents/email", json={"granted": False}, scope="write")
    assert [(c["channel"], c["granted"]) for c in consents] == [("email", False)]
    assert ("contact.consent", f"apikey:{api.keys.ids['write']}") in audit_actions(session, cid)


def test_consent_for_an_unknown_channel_is_422(api: Api) -> None:
    cid = create(api, identities=["external_id:1"])["id"]
    response = api.put(f"{URL}/{cid}/consents/fax", json={"granted": True}, scope="write")
    assert_problem(response, 422, "unknown consent channel", "fax", "email", "sms")
    assert api.ok("GET", f"{URL}/{cid}", scope="read")["consents"] == []


def found_by(api: Api, q: str) -> list[int]:
    return [c["id"] for c in api.ok("GET", URL, params={"q": q}, scope="read")["items"]]


def test_search_follows_renames_and_merges(api: Api) -> None:
    wang = create(api, identities=["taobao_nick:小王"])
    other = create(api, identities=["phone:13800138000"], name="王小明")
    api.ok("PATCH", f"{URL}/{other['id']}", json={"name": "王晓明"}, scope="write")
    assert found_by(api, "王晓明") == found_by(api, "晓") == [other["id"]]
    assert found_by(api, "王小明") == found_by(api, "小明") == []
    # Merged into the older contact, the name is found on the survivor only.
    api.ok(
        "POST",
        f"{URL}/{other['id']}/identities",
        json={"identity": "taobao_nick:小王"},
        scope="write",
    )
    assert found_by(api, "王晓明") == found_by(api, "晓") == [wang["id"]]
