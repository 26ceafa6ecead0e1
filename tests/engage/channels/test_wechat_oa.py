"""The Official Account channel through wechatpy, against a stand-in for api.weixin.qq.com."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from siyu.engage.channels.base import Outgoing
from siyu.engage.channels.wechat_oa import WechatOaChannel, WechatOaConfig
from tests.engage.channels.fakes import FakeServer, Request, http_server
from tests.engage.channels.wechat import WechatApi

APP_ID = "wx0123456789abcdef"
SECRET = "official-account-secret"


def send_template(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    if body.get("template_id") == "BAD-TEMPLATE":
        return {"errcode": 40037, "errmsg": "invalid template_id"}
    if not all(isinstance(v, dict) and "value" in v for v in body.get("data", {}).values()):
        return {"errcode": 47003, "errmsg": "argument invalid! data.first.value invalid"}
    answers = {
        "oUNSUBSCRIBED": {"errcode": 43004, "errmsg": "require subscribe"},
        "oLIMIT": {"errcode": 45009, "errmsg": "reach max api daily quota limit"},
    }
    return answers.get(body.get("touser"), {"errcode": 0, "errmsg": "ok", "msgid": 200228332})


@pytest.fixture
def server() -> Iterator[FakeServer]:
    api = WechatApi(
        token_path="/cgi-bin/token",
        credentials={"grant_type": "client_credential", "appid": APP_ID, "secret": SECRET},
        routes={"/cgi-bin/message/template/send": send_template},
    )
    with http_server(api) as running:
        yield running


@pytest.fixture
def channel(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[WechatOaChannel]:
    monkeypatch.setenv("OA_SECRET", SECRET)
    config = WechatOaConfig(
        app_id=APP_ID, secret_env="OA_SECRET", api_base_url=f"{server.url}/cgi-bin/"
    )
    with WechatOaChannel(config) as opened:
        yield opened


def outgoing(openid: str = "oFollower", template: str = "TM00015", **extra: Any) -> Outgoing:
    return Outgoing(
        message_id=1,
        key="journey:2:shipped:42:1",
        category="transactional",
        contact_id=42,
        address=openid,
        body="",
        template_code=template,
        params={"first": "您的订单已发货", "keyword1": "A1001", "remark": "感谢惠顾"},
        extra=extra,
    )


def test_a_template_message_is_sent_with_wrapped_values(
    channel: WechatOaChannel, server: FakeServer
) -> None:
    delivery = channel.send(outgoing(url="https://shop.example.com/orders/A1001"))
    assert (delivery.status, delivery.provider_id) == ("sent", "200228332")
    call = server.requests[-1]
    assert call.query["access_token"] == "TOKEN-1"
    assert call.json() == {
        "touser": "oFollower",
        "template_id": "TM00015",
        "url": "https://shop.example.com/orders/A1001",
        "data": {
            "first": {"value": "您的订单已发货"},
            "keyword1": {"value": "A1001"},
            "remark": {"value": "感谢惠顾"},
        },
    }


@pytest.mark.parametrize(
    ("openid", "template", "status", "bad_address", "code"),
    [
        ("oUNSUBSCRIBED", "TM00015", "failed", True, "43004"),
        ("oLIMIT", "TM00015", "retry", False, "45009"),
        ("oFollower", "BAD-TEMPLATE", "failed", False, "40037"),
    ],
)
def test_errcodes_map_to_deliveries(
    channel: WechatOaChannel, openid: str, template: str, status: str, bad_address: bool, code: str
) -> None:
    delivery = channel.send(outgoing(openid, template))
    assert (delivery.status, delivery.bad_address) == (status, bad_address)
    assert (delivery.reason or "").startswith(code)


def test_no_template_is_caught_before_sending(channel: WechatOaChannel, server: FakeServer) -> None:
    message = outgoing(template="")
    assert channel.check(message)
    assert channel.send(message).status == "failed"
    assert server.requests == []
