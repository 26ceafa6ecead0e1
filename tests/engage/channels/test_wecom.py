"""The WeCom channel through wechatpy, against a loopback stand-in for qyapi.weixin.qq.com."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from siyu.engage.channels.base import Outgoing
from siyu.engage.channels.wecom import WecomChannel, WecomConfig
from tests.engage.channels.fakes import FakeServer, Request, http_server
from tests.engage.channels.wechat import WechatApi

CORP_ID = "ww1234567890abcdef"
SECRET = "customer-contact-secret"
MSGID = "msgGCAAAXtWyujaWJHDDGi0mACAAAA"
# Answers by external userid, with the errcodes WeCom documents.
ERRORS = {
    "wmLIMIT": {"errcode": 45009, "errmsg": "api freq out of limit"},
    "wmBUSY": {"errcode": 45033, "errmsg": "api concurrent out of limit"},
    "wmBAD": {"errcode": 40096, "errmsg": "invalid external userid"},
    "wmGONE": {"errcode": 84061, "errmsg": "not external contact"},
}


def add_msg_template(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    if body.get("chat_type") != "single" or not body.get("sender"):
        return {"errcode": 40058, "errmsg": "invalid parameter: chat_type or sender"}
    if not isinstance(body.get("text", {}).get("content"), str):
        return {"errcode": 41033, "errmsg": "missing content"}
    [userid] = body["external_userid"]
    if userid in ERRORS:
        return ERRORS[userid]
    fail_list = [userid] if userid == "wmNOTMINE" else []
    return {"errcode": 0, "errmsg": "ok", "fail_list": fail_list, "msgid": MSGID}


def send_welcome_msg(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    if body.get("welcome_code") == "CODE-USED":
        return {"errcode": 41051, "errmsg": "customer already begin chatting"}
    if not body.get("welcome_code") or not body.get("text", {}).get("content"):
        return {"errcode": 41033, "errmsg": "missing welcome_code or content"}
    return {"errcode": 0, "errmsg": "ok"}


@pytest.fixture
def api() -> WechatApi:
    return WechatApi(
        token_path="/cgi-bin/gettoken",
        credentials={"corpid": CORP_ID, "corpsecret": SECRET},
        routes={
            "/cgi-bin/externalcontact/add_msg_template": add_msg_template,
            "/cgi-bin/externalcontact/send_welcome_msg": send_welcome_msg,
        },
    )


@pytest.fixture
def server(api: WechatApi) -> Iterator[FakeServer]:
    with http_server(api) as running:
        yield running


def channel(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, secret: str = SECRET
) -> WecomChannel:
    monkeypatch.setenv("WECOM_SECRET", secret)
    return WecomChannel(
        WecomConfig(
            corp_id=CORP_ID, secret_env="WECOM_SECRET", api_base_url=f"{server.url}/cgi-bin/"
        )
    )


def outgoing(address: str | None = "wmOK", **extra: Any) -> Outgoing:
    return Outgoing(
        message_id=1,
        key="campaign:5:42",
        category="marketing",
        contact_id=42,
        address=address,
        body="张先生您好，会员日到店有礼，回复“退订”不再收到",
        extra={"sender": "zhangsan", **extra},
    )


def test_the_mass_message_task_goes_to_the_contact_owner(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with channel(server, monkeypatch) as wecom:
        assert wecom.check(outgoing()) == []
        delivery = wecom.send(outgoing())
    assert (delivery.status, delivery.provider_id) == ("sent", MSGID)
    token, call = server.requests
    assert token.query == {"corpid": CORP_ID, "corpsecret": SECRET}
    assert call.query["access_token"] == "TOKEN-1"
    assert call.json() == {
        "chat_type": "single",
        "external_userid": ["wmOK"],
        "sender": "zhangsan",
        "text": {"content": "张先生您好，会员日到店有礼，回复“退订”不再收到"},
    }


@pytest.mark.parametrize(
    ("userid", "status", "bad_address"),
    [
        ("wmLIMIT", "retry", False),
        ("wmBUSY", "retry", False),
        ("wmBAD", "failed", True),
        ("wmGONE", "failed", True),
        ("wmNOTMINE", "failed", True),
    ],
)
def test_errcodes_map_to_deliveries(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, userid: str, status: str, bad_address: bool
) -> None:
    with channel(server, monkeypatch) as wecom:
        delivery = wecom.send(outgoing(userid))
    assert (delivery.status, delivery.bad_address) == (status, bad_address)


def test_the_welcome_message_uses_the_welcome_code(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with channel(server, monkeypatch) as wecom:
        sent = wecom.send(outgoing(welcome_code="CODE-NEW"))
        late = wecom.send(outgoing(welcome_code="CODE-USED"))
    assert sent.status == "sent"
    assert (late.status, late.bad_address) == ("failed", False)
    assert "41051" in (late.reason or "")
    assert server.requests[1].path == "/cgi-bin/externalcontact/send_welcome_msg"
    assert server.requests[1].json()["welcome_code"] == "CODE-NEW"


def test_a_token_serves_later_runs_and_is_renewed_when_it_expires(
    server: FakeServer, api: WechatApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    with channel(server, monkeypatch) as wecom:
        assert wecom.send(outgoing()).status == "sent"
    with channel(server, monkeypatch) as wecom:
        assert wecom.send(outgoing()).status == "sent"
    assert api.tokens == ["TOKEN-1"]
    api.expired.add("TOKEN-1")
    with channel(server, monkeypatch) as wecom:
        assert wecom.send(outgoing()).status == "sent"
    assert api.tokens == ["TOKEN-1", "TOKEN-2"]


def test_a_wrong_secret_or_no_sender_is_not_sent(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with channel(server, monkeypatch, secret="wrong") as wecom:
        refused = wecom.send(outgoing())
    with channel(server, monkeypatch) as wecom:
        message = outgoing()
        message.extra.pop("sender")
        assert wecom.check(message)
        no_sender = wecom.send(message)
    assert refused.status == "retry" and "40001" in (refused.reason or "")
    assert no_sender.status == "failed"
