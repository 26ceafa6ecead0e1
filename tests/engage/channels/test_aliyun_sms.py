"""Alibaba Cloud SMS through its SDK, against a loopback stand-in for dysmsapi.

The stand-in checks what Alibaba documents for SendSms (RPC style, Action and Version, the
required parameters) and verifies the ACS3-HMAC-SHA256 signature with the test secret, so a
request Alibaba would refuse is refused here too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from siyu.engage.channels.aliyun_sms import AliyunSmsChannel, AliyunSmsConfig
from siyu.engage.channels.base import Outgoing
from tests.engage.channels.fakes import FakeServer, Reply, Request, http_server

ACCESS_KEY_ID = "LTAI5tTestKeyId"
SECRET = "test-secret"
REQUEST_ID = "F655A8D5-B967-440B-8683-DAD6FF8DE990"


def signature_problem(request: Request) -> str | None:
    """Recompute the ACS3-HMAC-SHA256 signature as Alibaba's documentation describes it."""
    authorization = request.headers.get("authorization", "")
    algorithm, _, rest = authorization.partition(" ")
    if algorithm != "ACS3-HMAC-SHA256":
        return f"unknown signature algorithm {algorithm!r}"
    fields = dict(part.split("=", 1) for part in rest.split(","))
    if fields.get("Credential") != ACCESS_KEY_ID:
        return "InvalidAccessKeyId.NotFound"
    signed = fields["SignedHeaders"].split(";")
    for required in ("host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-content-sha256"):
        if required not in signed:
            return f"{required} is not signed"
    payload_hash = hashlib.sha256(request.body).hexdigest()
    if request.headers["x-acs-content-sha256"] != payload_hash:
        return "the body does not match x-acs-content-sha256"
    query = "&".join(
        f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(request.query.items())
    )
    headers = "".join(f"{name}:{request.headers[name].strip()}\n" for name in signed)
    canonical = "\n".join(
        [request.method, request.path, query, headers, ";".join(signed), payload_hash]
    )
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    expected = hmac.new(SECRET.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(expected, fields["Signature"]) else "SignatureDoesNotMatch"


# Answers by phone number, each as Alibaba documents it (HTTP 200 with a Code for business errors).
ANSWERS = {
    "13800000001": {"Code": "OK", "Message": "OK", "BizId": "9006197469364984400"},
    "13800000002": {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控Permits:1"},
    "13800000003": {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"},
    "13800000004": {"Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": "该账号下找不到对应模板"},
    "13800000005": {"Code": "isv.SMS_SIGNATURE_ILLEGAL", "Message": "该账号下找不到对应签名"},
    "85291234567": {"Code": "OK", "Message": "OK", "BizId": "123456789^0"},
}


def dysmsapi(request: Request) -> Reply:
    problem = signature_problem(request)
    if problem:
        code = problem if problem[0].isupper() else "IncompleteSignature"
        return Reply(400, {"RequestId": REQUEST_ID, "Code": code, "Message": problem})
    query = request.query
    if request.headers.get("x-acs-action") != "SendSms":
        request.problems.append("x-acs-action is not SendSms")
    if request.headers.get("x-acs-version") != "2017-05-25":
        request.problems.append("x-acs-version is not 2017-05-25")
    for name in ("PhoneNumbers", "SignName", "TemplateCode"):
        if not query.get(name):
            request.problems.append(f"{name} is missing")
    try:
        json.loads(query.get("TemplateParam", "{}"))
    except ValueError:
        request.problems.append("TemplateParam is not JSON")
    if request.problems:
        return Reply(400, {"RequestId": REQUEST_ID, "Code": "MissingParameter"})
    answer = ANSWERS.get(query["PhoneNumbers"], {"Code": "isv.MOBILE_NUMBER_ILLEGAL"})
    return Reply(200, {"RequestId": REQUEST_ID, **answer})


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with http_server(dysmsapi) as running:
        yield running


def channel(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, secret: str = SECRET
) -> AliyunSmsChannel:
    monkeypatch.setenv("ALIYUN_SMS_SECRET", secret)
    config = AliyunSmsConfig(
        access_key_id=ACCESS_KEY_ID,
        access_key_secret_env="ALIYUN_SMS_SECRET",
        sign_name="思语小店",
        endpoint=server.netloc,
        protocol="http",
    )
    return AliyunSmsChannel(config)


def outgoing(address: str) -> Outgoing:
    return Outgoing(
        message_id=1,
        key="journey:3:welcome:42:1",
        category="transactional",
        contact_id=42,
        address=address,
        body="【思语小店】您的订单已发货",
        template_code="SMS_154950909",
        params={"name": "张三", "order": "A1001"},
    )


def test_a_sent_message_carries_the_documented_parameters(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with channel(server, monkeypatch) as sms:
        delivery = sms.send(outgoing("+8613800000001"))
    assert (delivery.status, delivery.provider_id) == ("sent", "9006197469364984400")
    [request] = server.requests
    assert request.problems == []
    assert request.query["PhoneNumbers"] == "13800000001"  # mainland: eleven digits
    assert request.query["SignName"] == "思语小店"
    assert request.query["TemplateCode"] == "SMS_154950909"
    assert json.loads(request.query["TemplateParam"]) == {"name": "张三", "order": "A1001"}


def test_an_international_number_goes_with_its_country_code(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with channel(server, monkeypatch) as sms:
        assert sms.send(outgoing("+85291234567")).status == "sent"
    assert server.requests[0].query["PhoneNumbers"] == "85291234567"


@pytest.mark.parametrize(
    ("number", "status", "bad_address", "code"),
    [
        ("13800000002", "retry", False, "isv.BUSINESS_LIMIT_CONTROL"),
        ("13800000003", "failed", True, "isv.MOBILE_NUMBER_ILLEGAL"),
        ("13800000004", "failed", False, "isv.SMS_TEMPLATE_ILLEGAL"),
        ("13800000005", "failed", False, "isv.SMS_SIGNATURE_ILLEGAL"),
    ],
)
def test_business_errors_in_an_http_200_map_to_deliveries(
    server: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
    number: str,
    status: str,
    bad_address: bool,
    code: str,
) -> None:
    with channel(server, monkeypatch) as sms:
        delivery = sms.send(outgoing(number))
    assert (delivery.status, delivery.bad_address) == (status, bad_address)
    assert (delivery.reason or "").startswith(code)


def test_a_wrong_secret_is_refused_by_the_signature_check(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with channel(server, monkeypatch, secret="not-the-secret") as sms:
        delivery = sms.send(outgoing("13800000001"))
    # The key, not the message, is wrong: the message waits until the configuration is fixed.
    assert delivery.status == "retry"
    assert (delivery.reason or "").startswith("SignatureDoesNotMatch")


def test_no_secret_and_no_server_mean_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALIYUN_SMS_SECRET", raising=False)
    config = AliyunSmsConfig(
        access_key_id=ACCESS_KEY_ID,
        access_key_secret_env="ALIYUN_SMS_SECRET",
        sign_name="思语",
        endpoint="127.0.0.1:9",
        protocol="http",
        connect_timeout_ms=500,
    )
    with AliyunSmsChannel(config) as sms:
        unset = sms.send(outgoing("13800000001"))
    monkeypatch.setenv("ALIYUN_SMS_SECRET", SECRET)
    with AliyunSmsChannel(config) as sms:
        unreachable = sms.send(outgoing("13800000001"))
    assert unset.status == "retry" and "ALIYUN_SMS_SECRET" in (unset.reason or "")
    assert unreachable.status == "retry"


def test_a_malformed_number_is_never_sent(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with channel(server, monkeypatch) as sms:
        assert sms.check(outgoing("12345"))
        delivery = sms.send(outgoing("12345"))
    assert (delivery.status, delivery.bad_address) == ("failed", True)
    assert server.requests == []
