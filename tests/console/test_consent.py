"""Consent on the customer 360: a grant and a withdraw button per channel with an optional
purpose, the ledger beneath, repeats that change nothing, roles that may not change consent."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.contacts import service as contacts_service
from siyu.contacts.models import Contact, ContactConsentChange
from siyu.kit.actor import Actor
from siyu.staff.models import StaffUser
from tests.console.conftest import Browser, make_staff


@pytest.fixture
def customer(session: Session, admin: StaffUser) -> Contact:
    contact = contacts_service.create_contact(
        session, actor=Actor.system(), identities=["phone:13800138000"], name="林一"
    )
    session.flush()
    return contact


def ledger(session: Session, contact_id: int) -> list[tuple]:
    rows = session.execute(
        select(ContactConsentChange)
        .where(ContactConsentChange.contact_id == contact_id)
        .order_by(ContactConsentChange.id)
    ).scalars()
    return [(r.channel, r.granted, r.purpose, r.source, r.actor) for r in rows]


def test_buttons_per_channel_and_the_history(
    signed_in: Browser, customer: Contact, session: Session
) -> None:
    page = signed_in.get(f"/customers/{customer.id}").text
    for channel in ("email", "sms", "wecom", "wechat_oa"):
        assert f'name="channel" value="{channel}"' in page
    assert page.count('name="granted" value="1"') == 4
    assert page.count('name="granted" value="0"') == 4
    assert "尚未同意或撤回过" in page
    url = f"/customers/{customer.id}/consent"
    response = signed_in.post(url, {"channel": "sms", "granted": "1", "purpose": "会员活动"})
    assert response.status_code == 303
    signed_in.post(url, {"channel": "sms", "granted": "1", "purpose": "会员活动"})  # a repeat
    signed_in.post(url, {"channel": "sms", "granted": "0"})
    assert ledger(session, customer.id) == [
        ("sms", True, "会员活动", "console", "staff:li.na"),
        ("sms", False, "", "console", "staff:li.na"),
    ]
    page = signed_in.get(f"/customers/{customer.id}").text
    assert "同意记录" in page and "会员活动" in page and "控制台" in page
    assert "staff:li.na" in page


def test_htmx_swaps_the_section_with_a_toast(
    signed_in: Browser, customer: Contact, session: Session
) -> None:
    headers = {"HX-Request": "true", "X-CSRF-Token": signed_in.csrf}
    url = f"/customers/{customer.id}/consent"
    response = signed_in.post(url, {"channel": "email", "granted": "1"}, headers=headers)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="consent"')
    toast = json.loads(response.headers["hx-trigger"])["siyu:toast"]
    assert toast["message"] == "已记录同意。"
    again = signed_in.post(url, {"channel": "email", "granted": "1"}, headers=headers)
    assert "没有变化" in json.loads(again.headers["hx-trigger"])["siyu:toast"]["message"]
    assert len(ledger(session, customer.id)) == 1


def test_unknown_channel_is_an_inline_message(
    signed_in: Browser, customer: Contact, session: Session
) -> None:
    url = f"/customers/{customer.id}/consent"
    response = signed_in.post(url, {"channel": "fax", "granted": "1"})
    assert response.status_code == 303
    page = signed_in.get(response.headers["location"]).text
    assert "未知渠道 fax" in page and "短信" in page
    headers = {"HX-Request": "true", "X-CSRF-Token": signed_in.csrf}
    response = signed_in.post(url, {"channel": "fax", "granted": "1"}, headers=headers)
    assert "未知渠道" in json.loads(response.headers["hx-trigger"])["siyu:toast"]["message"]
    assert ledger(session, customer.id) == []


def test_unknown_customer_is_a_friendly_404(signed_in: Browser) -> None:
    response = signed_in.post("/customers/987654/consent", {"channel": "sms", "granted": "1"})
    assert response.status_code == 404 and "Traceback" not in response.text


def test_staff_and_viewers_may_not_change_consent(
    client_factory: Callable[[], TestClient], session: Session, customer: Contact
) -> None:
    guide = make_staff(session, "wang.fang", "staff")
    customer.owner_id = guide.id
    session.flush()
    for login, role in (("wang.fang", None), ("zhao.kan", "viewer")):
        if role:
            make_staff(session, login, role)
        browser = Browser(client_factory())
        assert browser.sign_in(login).status_code == 303
        page = browser.get(f"/customers/{customer.id}").text
        assert 'name="granted"' not in page and "同意记录" in page
        browser.post(f"/customers/{customer.id}/consent", {"channel": "sms", "granted": "1"})
    assert ledger(session, customer.id) == []
