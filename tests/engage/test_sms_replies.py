"""SMS replies: Aliyun's and Tencent's documented push formats, each unsubscribe keyword, replies
that are not one, unknown numbers, malformed bodies and the shared-secret guard."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.config import get_settings
from siyu.contacts import consent
from siyu.contacts.models import Contact, ContactConsent, ContactConsentChange
from siyu.engage.sms_replies import is_unsubscribe
from tests.api.conftest import assert_problem

TOKEN = "reply-secret"
ALIYUN = f"/hooks/sms/aliyun?token={TOKEN}"
TENCENT = f"/hooks/sms/tencent?token={TOKEN}"
KEYWORDS = ["TD", "T", "N", "退订", "取消", "退", "STOP", "UNSUBSCRIBE"]


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIYU_SMS_REPLY_TOKEN", TOKEN)
    get_settings.cache_clear()


@pytest.fixture
def subscribed(session: Session, customer: Contact) -> Contact:
    for channel in ("sms", "email"):
        consent.record_consent(
            session, contact_id=customer.id, channel=channel, granted=True, source="form"
        )
    return customer


def sms_consent(session: Session, contact: Contact) -> bool:
    return session.execute(
        select(ContactConsent.granted).where(
            ContactConsent.contact_id == contact.id, ContactConsent.channel == "sms"
        )
    ).scalar_one()


def aliyun(phone: str, content: str) -> list[dict]:
    return [
        {
            "phone_number": phone,
            "send_time": "2026-12-03 10:00:00",
            "content": content,
            "sign_name": "私域小店",
            "dest_code": "1234",
            "sequence_id": 1234567890,
        }
    ]


def tencent(mobile: str, text: str) -> dict:
    return {
        "extend": "",
        "mobile": mobile,
        "nationcode": "86",
        "sign": "私域小店",
        "text": text,
        "time": 1457336869,
    }


@pytest.mark.parametrize(
    "text",
    [
        *KEYWORDS,
        *(k.lower() for k in KEYWORDS),
        " td ",
        "TD。",
        "【退订】",
        "退订!",
        "ＴＤ",
        "Stop.",
        "回复TD退订",
        "退订TD",
    ],
)
def test_keywords(text: str) -> None:
    assert is_unsubscribe(text)


@pytest.mark.parametrize(
    "text", ["", "  ", "好的", "什么时候发货", "取消订单", "退款", "No", "STOPPED", "TDX", "谢谢TD"]
)
def test_not_keywords(text: str) -> None:
    assert not is_unsubscribe(text)


@pytest.mark.parametrize("keyword", KEYWORDS)
def test_aliyun_reply_with_each_keyword_withdraws_sms(
    client: TestClient, session: Session, subscribed: Contact, keyword: str
) -> None:
    response = client.post(ALIYUN, json=aliyun("13800138000", keyword))
    assert response.status_code == 200
    assert response.json() == {"code": 0, "msg": "成功"}
    assert sms_consent(session, subscribed) is False
    (change,) = session.execute(
        select(ContactConsentChange).where(
            ContactConsentChange.contact_id == subscribed.id, ~ContactConsentChange.granted
        )
    ).scalars()
    assert (change.channel, change.source, change.actor) == ("sms", "sms_reply", "system")


@pytest.mark.parametrize("keyword", [*KEYWORDS, "td", "退订。"])
def test_tencent_reply_with_each_keyword_withdraws_sms(
    client: TestClient, session: Session, subscribed: Contact, keyword: str
) -> None:
    response = client.post(TENCENT, json=tencent("13800138000", keyword))
    assert response.status_code == 200
    assert response.json() == {"result": 0, "errmsg": "OK"}
    assert sms_consent(session, subscribed) is False


def test_tencent_arrays_and_a_repeat_write_one_ledger_row(
    client: TestClient, session: Session, subscribed: Contact
) -> None:
    body = [tencent("13800138000", "TD"), tencent("13800138000", "退订")]
    assert client.post(TENCENT, json=body).status_code == 200
    assert client.post(ALIYUN, json=aliyun("+86 138 0013 8000", "T")).status_code == 200
    rows = session.execute(
        select(ContactConsentChange).where(
            ContactConsentChange.contact_id == subscribed.id,
            ContactConsentChange.source == "sms_reply",
        )
    ).all()
    assert len(rows) == 1


def test_other_replies_are_acknowledged_and_ignored(
    client: TestClient, session: Session, subscribed: Contact, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="siyu.engage.sms_replies"):
        assert client.post(ALIYUN, json=aliyun("13800138000", "什么时候发货？")).json()["code"] == 0
        assert client.post(TENCENT, json=tencent("13800138000", "好的")).json()["result"] == 0
    assert sms_consent(session, subscribed) is True
    # Each reply is logged, the number masked.
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and all("+861380013****" in line for line in lines)
    assert all("13800138000" not in line for line in lines)


def test_only_sms_consent_is_withdrawn(
    client: TestClient, session: Session, subscribed: Contact
) -> None:
    client.post(ALIYUN, json=aliyun("13800138000", "TD"))
    email = session.execute(
        select(ContactConsent.granted).where(
            ContactConsent.contact_id == subscribed.id, ContactConsent.channel == "email"
        )
    ).scalar_one()
    assert email is True


def test_unknown_numbers_are_acknowledged(client: TestClient, session: Session) -> None:
    assert client.post(ALIYUN, json=aliyun("13900139000", "TD")).json() == {
        "code": 0,
        "msg": "成功",
    }
    assert client.post(TENCENT, json=tencent("not a number", "TD")).json()["result"] == 0
    assert session.execute(select(ContactConsentChange)).first() is None


@pytest.mark.parametrize("url", [ALIYUN, TENCENT])
@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"",
        b"[]",
        b"42",
        b'["TD"]',
        b'{"mobile": 13800138000}',
        b'[{"phone_number": "13800138000"}]',
        b'{"text": null, "mobile": "13800138000"}',
        b"\xff\xfe",
    ],
)
def test_malformed_bodies_are_a_400_problem(client: TestClient, url: str, body: bytes) -> None:
    response = client.post(url, content=body, headers={"Content-Type": "application/json"})
    assert_problem(response, 400)


@pytest.mark.parametrize("url", ["/hooks/sms/aliyun", "/hooks/sms/tencent", "/hooks/bounce"])
def test_a_wrong_or_missing_token_is_refused(
    client: TestClient, session: Session, subscribed: Contact, url: str
) -> None:
    body = aliyun("13800138000", "TD")
    assert_problem(client.post(url, json=body), 403, "token")
    assert_problem(client.post(url + "?token=guess", json=body), 403, "token")
    assert sms_consent(session, subscribed) is True


@pytest.mark.parametrize("url", [ALIYUN, TENCENT, f"/hooks/bounce?token={TOKEN}"])
def test_hooks_do_not_exist_without_the_setting(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.delenv("SIYU_SMS_REPLY_TOKEN")
    get_settings.cache_clear()
    assert_problem(client.post(url, json=aliyun("13800138000", "TD")), 404)
