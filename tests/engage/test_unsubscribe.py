"""Unsubscribe links: GET shows a confirm page, POST (a button or RFC 8058 one-click) withdraws
the consent the message's channel needs, at once and into the ledger; forged tokens are a 404
page, never a 500; a repeat is harmless."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.contacts import consent
from siyu.contacts import service as contacts_service
from siyu.contacts.identity import merge
from siyu.contacts.models import Contact, ContactConsent, ContactConsentChange
from siyu.engage.models import EngageMessage
from siyu.engage.tokens import unsubscribe_token, unsubscribe_url
from siyu.engage.unsubscribe import consent_channel_for_kind, withdraw
from siyu.kit.actor import Actor

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def grant_all(session: Session, contact: Contact) -> None:
    for channel in ("email", "sms", "wecom", "wechat_oa"):
        consent.record_consent(
            session, contact_id=contact.id, channel=channel, granted=True, source="form"
        )


def held(session: Session, contact: Contact) -> dict[str, bool]:
    rows = session.execute(select(ContactConsent).where(ContactConsent.contact_id == contact.id))
    return {row.channel: row.granted for row in rows.scalars()}


def withdrawals(session: Session, contact: Contact) -> list[tuple]:
    rows = session.execute(
        select(ContactConsentChange)
        .where(ContactConsentChange.contact_id == contact.id, ~ContactConsentChange.granted)
        .order_by(ContactConsentChange.id)
    ).scalars()
    return [(r.channel, r.source, r.actor, r.ip) for r in rows]


@pytest.mark.parametrize(
    ("kind", "config", "expected"),
    [
        ("email", {}, "email"),
        ("sms", {}, "sms"),
        ("aliyun_sms", {}, "sms"),
        ("tencent_sms", {}, "sms"),
        ("wecom", {}, "wecom"),
        ("wechat_oa", {}, "wechat_oa"),
        ("webhook", {"consent_channel": "wecom"}, "wecom"),
        ("webhook", {}, None),
        ("webhook", {"consent_channel": "fax"}, None),
        ("carrier_pigeon", {}, None),
    ],
)
def test_consent_channel_for_kind(kind: str, config: dict, expected: str | None) -> None:
    assert consent_channel_for_kind(kind, config) == expected


def test_get_shows_a_confirm_page_and_changes_nothing(
    client: TestClient, session: Session, customer: Contact, send: Callable
) -> None:
    grant_all(session, customer)
    message = send(customer, "email")
    url = f"/u/{unsubscribe_token(message.id)}"
    page = client.get(url, headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200 and "退订" in page.text and "电子邮箱" in page.text
    assert f'action="{url}"' in page.text and "csrf_token" not in page.text
    english = client.get(url, headers={"Accept-Language": "en"})
    assert "Stop receiving marketing messages from us by E-mail?" in english.text
    assert held(session, customer)["email"] is True


def test_post_withdraws_the_messages_channel_at_once(
    client: TestClient, session: Session, customer: Contact, send: Callable
) -> None:
    grant_all(session, customer)
    message = send(customer, "aliyun_sms")
    response = client.post(f"/u/{unsubscribe_token(message.id)}", headers={"Accept-Language": "en"})
    assert response.status_code == 200 and "You are unsubscribed" in response.text
    assert "by SMS" in response.text
    everything_but_sms = {"email": True, "sms": False, "wecom": True, "wechat_oa": True}
    assert held(session, customer) == everything_but_sms
    assert withdrawals(session, customer) == [("sms", "unsubscribe", "system", "203.0.113.0")]


def test_rfc_8058_one_click_post_and_a_repeat(
    client: TestClient, session: Session, customer: Contact, send: Callable
) -> None:
    grant_all(session, customer)
    message: EngageMessage = send(customer, "email")
    assert unsubscribe_url(message.id).startswith("http://127.0.0.1:8000/u/")
    url = f"/u/{unsubscribe_token(message.id)}"
    # As a mailbox provider sends it: a form body, no cookies, no CSRF token, no referrer.
    response = client.post(url, data=ONE_CLICK)
    assert response.status_code == 200
    assert "您已退订" in response.text
    assert held(session, customer)["email"] is False
    again = client.post(url, data=ONE_CLICK)
    assert again.status_code == 200 and "您已退订" in again.text
    assert withdrawals(session, customer) == [("email", "unsubscribe", "system", "203.0.113.0")]
    assert not response.cookies


def test_a_webhook_channel_withdraws_what_its_configuration_names(
    client: TestClient, session: Session, customer: Contact, send: Callable
) -> None:
    grant_all(session, customer)
    message = send(customer, "webhook", {"consent_channel": "wechat_oa"})
    assert client.post(f"/u/{unsubscribe_token(message.id)}", data=ONE_CLICK).status_code == 200
    assert held(session, customer)["wechat_oa"] is False


def test_a_channel_without_consent_withdraws_nothing_and_still_answers(
    client: TestClient, session: Session, customer: Contact, send: Callable
) -> None:
    grant_all(session, customer)
    message = send(customer, "webhook")
    response = client.post(f"/u/{unsubscribe_token(message.id)}", data=ONE_CLICK)
    assert response.status_code == 200
    assert all(held(session, customer).values())


@pytest.mark.parametrize(
    "token",
    [
        "forged",
        "MQ.c2lnbmF0dXJl",
        unsubscribe_token(1)[:-2] + "xx",
        "%00",
        "a" * 2000,
    ],
)
def test_forged_tokens_are_a_404_page(
    client: TestClient, session: Session, customer: Contact, send: Callable, token: str
) -> None:
    grant_all(session, customer)
    send(customer, "email")
    for method in ("GET", "POST"):
        response = client.request(method, f"/u/{token}", headers={"Accept-Language": "zh-CN"})
        assert response.status_code == 404, response.text
        assert "链接无效" in response.text and "Traceback" not in response.text
    assert all(held(session, customer).values())


def test_a_token_for_a_message_that_is_gone_is_a_404(client: TestClient) -> None:
    response = client.post(f"/u/{unsubscribe_token(987654321)}", data=ONE_CLICK)
    assert response.status_code == 404


def test_withdraw_follows_merges(session: Session, customer: Contact) -> None:
    other = contacts_service.create_contact(
        session, actor=Actor.system(), identities=["external_id:x"]
    )
    grant_all(session, customer)
    merge(session, survivor=customer.id, absorbed=other.id, reason="test")
    assert withdraw(session, contact_id=other.id, channel="email") is True
    assert held(session, customer)["email"] is False
    assert withdraw(session, contact_id=other.id, channel="email") is False
