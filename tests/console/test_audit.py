"""The audit log page: filters by person, action, object and date; paging; details; access."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.audit import service as audit
from siyu.audit.models import AuditEvent
from siyu.contacts import service as contacts_service
from siyu.errors import Forbidden, Invalid
from siyu.kit.actor import Actor
from siyu.staff.models import StaffUser
from tests.console.conftest import Browser, make_staff

LI_NA = Actor("staff:li.na", role="admin")


def rows(html: str) -> list[str]:
    table = re.search(r'id="audit-events">(.*?)</table>', html, re.S)
    return re.findall(r"<tr>\s*<td(.*?)</tr>", table.group(1), re.S) if table else []


def event(session: Session, when: datetime | None = None, **values: object) -> AuditEvent:
    values = {
        "actor": "cli",
        "action": "contact.tag_add",
        "subject_type": "contact",
        "detail": {},
        **values,
    }
    item = AuditEvent(**values)
    if when is not None:
        item.occurred_at = when
    session.add(item)
    session.flush()
    return item


def test_events_show_who_what_object_and_detail_newest_first(
    signed_in: Browser, session: Session, admin: StaffUser
) -> None:
    actor = Actor("staff:li.na", staff_id=admin.id, role="admin")
    contact = contacts_service.create_contact(
        session, actor=actor, identities=["phone:13800138000"], name="王小明"
    )
    contacts_service.add_tags(session, contact=contact, tags=["VIP", "复购"], actor=actor)
    session.flush()
    page = signed_in.get("/audit")
    assert page.status_code == 200
    found = rows(page.text)
    assert len(found) == 3  # tags added, customer created, and li.na's own account
    assert "添加标签" in found[0] and "新建客户" in found[1] and "新建员工账号" in found[2]
    # Who: the staff member's name, a link that filters by them.
    assert "李娜" in found[0] and 'href="/audit?actor=staff%3Ali.na"' in found[0]
    # The object links to the customer's 360 page and to its own history.
    assert f'href="/customers/{contact.id}"' in found[0]
    assert f"/audit?subject_type=contact&amp;subject_id={contact.id}" in found[0]
    # Detail as a compact key/value list, labels translated, lists joined.
    assert re.search(r"<dt>标签</dt><dd>[^<]*VIP[^<]*复购", found[0]) or re.search(
        r"<dt>标签</dt><dd>[^<]*复购[^<]*VIP", found[0]
    )
    assert "<dt>角色</dt><dd>管理员</dd>" in found[2]
    assert "系统" in found[2]  # made by the system


def test_long_lists_in_detail_are_shortened(signed_in: Browser, session: Session) -> None:
    event(
        session,
        action="contact.handover",
        subject_type="staff",
        subject_id="1",
        detail={"from": "a", "to": "b", "count": 30, "contact_ids": list(range(1, 31))},
    )
    text = signed_in.get("/audit?action=contact.handover").text
    assert "<dt>原负责人</dt><dd>a</dd>" in text and "<dt>接手人</dt><dd>b</dd>" in text
    assert "1, 2, 3, 4, 5, 6, 7, 8, 9, 10 等，另有 20 项" in text


def test_filter_by_person(signed_in: Browser, session: Session) -> None:
    event(session, actor="staff:li.na", subject_id="1")
    event(session, actor="staff:wang", subject_id="2")
    event(session, actor="apikey:7", subject_id="3")
    text = signed_in.get("/audit?actor=staff:wang").text
    assert len(rows(text)) == 1 and "/customers/2" in text
    text = signed_in.get("/audit?actor=apikey:7").text
    assert len(rows(text)) == 1 and "API 密钥 7" in text
    # The filter keeps an actor that is not in the list selected.
    assert '<option value="apikey:7" selected>' in text


def test_filter_by_action_and_area(signed_in: Browser, session: Session) -> None:
    event(session, action="contact.tag_add", subject_id="1")
    event(session, action="contact.note_add", subject_id="2")
    event(session, action="apikey.revoke", subject_type="api_key", subject_id="9")
    assert len(rows(signed_in.get("/audit?action=contact.note_add").text)) == 1
    assert len(rows(signed_in.get("/audit?action=contact.*").text)) == 2
    text = signed_in.get("/audit?action=apikey.*").text
    assert len(rows(text)) == 1 and 'href="/settings/api-keys"' in text


def test_filter_by_object(signed_in: Browser, session: Session) -> None:
    event(session, subject_id="41")
    event(session, subject_id="41", action="contact.note_add")
    event(session, subject_id="42")
    event(session, subject_type="staff", subject_id="41", action="staff.disable")
    text = signed_in.get("/audit?subject_type=contact&subject_id=41").text
    assert len(rows(text)) == 2 and "/customers/42" not in text
    assert len(rows(signed_in.get("/audit?subject_type=staff").text)) == 2  # incl. li.na's
    # An id without its type is asked for, not guessed.
    text = signed_in.get("/audit?subject_id=41").text
    assert "请同时选择对象类型" in text and not rows(text)


def test_filter_by_date_uses_the_merchants_days(signed_in: Browser, session: Session) -> None:
    # Asia/Shanghai is UTC+8: 1 March 23:30 there is 15:30 UTC, 2 March 00:10 is 16:10 UTC.
    event(session, datetime(2024, 2, 29, 15, 59, tzinfo=UTC), subject_id="1")
    event(session, datetime(2024, 2, 29, 16, 0, tzinfo=UTC), subject_id="2")
    event(session, datetime(2024, 3, 1, 15, 30, tzinfo=UTC), subject_id="3")
    event(session, datetime(2024, 3, 1, 16, 10, tzinfo=UTC), subject_id="4")
    text = signed_in.get("/audit?since=2024-03-01&until=2024-03-01").text
    assert [re.search(r"/customers/(\d+)", r).group(1) for r in rows(text)] == ["3", "2"]
    assert len(rows(signed_in.get("/audit?since=2024-03-02").text)) >= 2  # 4, li.na's
    assert len(rows(signed_in.get("/audit?until=2024-02-29").text)) == 1
    text = signed_in.get("/audit?since=2024-03-02&until=2024-03-01").text
    assert "结束日期早于开始日期" in text and not rows(text)
    text = signed_in.get("/audit?since=yesterday").text
    assert "请输入类似 2024-03-01 的日期" in text


def test_nothing_matching_says_what_to_do(signed_in: Browser) -> None:
    text = signed_in.get("/audit?action=contact.merge").text
    assert "没有符合筛选条件的记录" in text and 'href="/audit"' in text


def test_pages_go_back_in_time_without_repeats(signed_in: Browser, session: Session) -> None:
    for number in range(110):
        event(session, subject_id=str(number + 1))
    seen: list[int] = []
    url: str | None = "/audit?action=contact.tag_add"
    pages = 0
    while url:
        text = signed_in.get(url).text
        seen += [int(re.search(r"/customers/(\d+)", r).group(1)) for r in rows(text)]
        match = re.search(r'href="([^"]+)" rel="next"', text)
        url = match.group(1).replace("&amp;", "&") if match else None
        pages += 1
        if pages > 1:
            assert "action=contact.tag_add" in text and ">最新</a>" in text
    assert pages == 3
    assert seen == list(range(110, 0, -1))


def test_service_pages_filters_and_checks(session: Session) -> None:
    for number in range(5):
        event(session, actor="cli" if number % 2 else "system", subject_id=str(number))
    first = audit.list_events(session, viewer=LI_NA, actor="cli", limit=1)
    assert [e.subject_id for e in first.events] == ["3"] and first.next_cursor
    second = audit.list_events(session, viewer=LI_NA, actor="cli", cursor=first.next_cursor)
    assert [e.subject_id for e in second.events] == ["1"] and second.next_cursor is None
    with pytest.raises(Invalid, match="cursor"):
        audit.list_events(session, viewer=LI_NA, cursor="bm90LWEtY3Vyc29y")
    with pytest.raises(Invalid, match="time zone"):
        audit.list_events(session, viewer=LI_NA, since=datetime(2024, 1, 1))
    for role in ("operator", "staff", "viewer"):
        with pytest.raises(Forbidden, match="may not read the audit log"):
            audit.list_events(session, viewer=Actor("staff:x", role=role))


@pytest.mark.parametrize("role", ["operator", "staff", "viewer"])
def test_other_roles_are_refused_kindly(
    role: str, session: Session, client_factory: Callable[[], TestClient]
) -> None:
    event(session, subject_id="1", detail={"secret": "do-not-show"})
    make_staff(session, "someone", role)
    browser = Browser(client_factory())
    browser.sign_in("someone")
    for url in ("/audit", "/audit?since=nonsense"):
        page = browser.get(url)
        assert page.status_code == 403
        assert "只有管理员可以查看审计日志" in page.text
        assert "do-not-show" not in page.text and "Traceback" not in page.text
