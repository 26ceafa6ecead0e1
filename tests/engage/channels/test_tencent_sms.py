"""Tencent Cloud SMS through its SDK, against a loopback stand-in for sms.tencentcloudapi.com.

The stand-in checks the SendSms request as Tencent documents it (X-TC-Action, X-TC-Version,
the JSON fields) and verifies the TC3-HMAC-SHA256 signature with the test secret.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from siyu.engage.channels.base import Outgoing
from siyu.engage.channels.tencent_sms import TencentSmsChannel, TencentSmsConfig, template_params
from tests.engage.channels.fakes import FakeServer, Reply, Request, http_server

SECRET_ID = "AKIDtestSecretId"
SECRET_KEY = "test-secret-key"
REQUEST_ID = "a0aabda6-cf91-4f3e-a81f-9198114a2279"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signature_problem(request: Request) -> str | None:
    """Recompute TC3-HMAC-SHA256 as Tencent's signature v3 documentation describes it."""
    algorithm, _, rest = request.headers.get("authorization", "").partition(" ")
    if algorithm != "TC3-HMAC-SHA256":
        return "AuthFailure.SignatureFailure"
    fields = dict(part.strip().split("=", 1) for part in rest.split(","))
    secret_id, date, service, terminator = fields["Credential"].split("/")
    timestamp = request.headers["x-tc-timestamp"]
    if secret_id != SECRET_ID:
        return "AuthFailure.SecretIdNotFound"
    if date != datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d"):
        return "AuthFailure.SignatureFailure"
    signed = fields["SignedHeaders"]
    headers = "".join(f"{name}:{request.headers[name]}\n" for name in signed.split(";"))
    canonical = "\n".join(
        ["POST", "/", "", headers, signed, hashlib.sha256(request.body).hexdigest()]
    )
    scope = f"{date}/{service}/{terminator}"
    to_sign = "\n".join(
        ["TC3-HMAC-SHA256", timestamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(_hmac(_hmac(("TC3" + SECRET_KEY).encode(), date), service), "tc3_request")
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if service != "sms" or not hmac.compare_digest(expected, fields["Signature"]):
        return "AuthFailure.SignatureFailure"
    return None


def error(code: str, message: str) -> Reply:
    return Reply(
        200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": REQUEST_ID}}
    )


# Per-number answers, as Tencent documents SendStatusSet.
STATUSES = {
    "+8613800000001": ("Ok", "send success", "2433:346551834317246950498486226"),
    "+8613800000002": (
        "LimitExceeded.PhoneNumberDailyLimit",
        "单个手机号日下发短信条数超过设定的上限",
        "",
    ),
    "+8613800000003": ("InvalidParameterValue.IncorrectPhoneNumber", "手机号格式错误", ""),
}


def sms_api(request: Request) -> Reply:
    problem = signature_problem(request)
    if problem:
        return error(problem, "The provided credentials could not be validated.")
    if request.headers.get("x-tc-action") != "SendSms":
        request.problems.append("X-TC-Action is not SendSms")
    if request.headers.get("x-tc-version") != "2021-01-11":
        request.problems.append("X-TC-Version is not 2021-01-11")
    body = request.json()
    for name in ("SmsSdkAppId", "SignName", "TemplateId", "PhoneNumberSet"):
        if not body.get(name):
            request.problems.append(f"{name} is missing")
    if request.problems:
        return error("MissingParameter", "; ".join(request.problems))
    if body["TemplateId"] == "999999":
        return error("FailedOperation.TemplateIncorrectOrUnapproved", "模板未审批或内容不匹配")
    statuses = []
    for number in body["PhoneNumberSet"]:
        code, message, serial = STATUSES.get(
            number, ("InvalidParameterValue.IncorrectPhoneNumber", "", "")
        )
        statuses.append(
            {
                "SerialNo": serial,
                "PhoneNumber": number,
                "Fee": 1 if code == "Ok" else 0,
                "SessionContext": body.get("SessionContext", ""),
                "Code": code,
                "Message": message,
                "IsoCode": "CN",
            }
        )
    return Reply(200, {"Response": {"SendStatusSet": statuses, "RequestId": REQUEST_ID}})


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with http_server(sms_api) as running:
        yield running


def channel(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, secret: str = SECRET_KEY
) -> TencentSmsChannel:
    monkeypatch.setenv("TENCENT_SMS_KEY", secret)
    config = TencentSmsConfig(
        secret_id=SECRET_ID,
        secret_key_env="TENCENT_SMS_KEY",
        sdk_app_id="1400006666",
        sign_name="思语小店",
        endpoint=server.netloc,
        protocol="http",
    )
    return TencentSmsChannel(config)


def outgoing(address: str, template: str = "449739") -> Outgoing:
    return Outgoing(
        message_id=1,
        key="campaign:9:42",
        category="marketing",
        contact_id=42,
        address=address,
        body="【思语小店】张三您好，会员日全场八折，回TD退订",
        template_code=template,
        params={"2": "八折", "1": "张三", "10": "TD"},
    )


def test_a_sent_message_carries_the_documented_fields(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with channel(server, monkeypatch) as sms:
        delivery = sms.send(outgoing("13800000001"))
    assert (delivery.status, delivery.provider_id) == ("sent", "2433:346551834317246950498486226")
    [request] = server.requests
    assert request.problems == []
    body = request.json()
    assert body["PhoneNumberSet"] == ["+8613800000001"]
    assert body["SmsSdkAppId"] == "1400006666"
    assert body["SignName"] == "思语小店"
    assert body["TemplateId"] == "449739"
    assert body["TemplateParamSet"] == ["张三", "八折", "TD"]  # by number, not as text
    assert body["SessionContext"] == "campaign:9:42"
    assert request.headers["x-tc-region"] == "ap-guangzhou"


@pytest.mark.parametrize(
    ("number", "template", "status", "bad_address", "code"),
    [
        ("+8613800000002", "449739", "retry", False, "LimitExceeded.PhoneNumberDailyLimit"),
        ("+8613800000003", "449739", "failed", True, "InvalidParameterValue.IncorrectPhoneNumber"),
        (
            "+8613800000001",
            "999999",
            "failed",
            False,
            "FailedOperation.TemplateIncorrectOrUnapproved",
        ),
    ],
)
def test_errors_map_to_deliveries(
    server: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
    number: str,
    template: str,
    status: str,
    bad_address: bool,
    code: str,
) -> None:
    with channel(server, monkeypatch) as sms:
        delivery = sms.send(outgoing(number, template))
    assert (delivery.status, delivery.bad_address) == (status, bad_address)
    assert (delivery.reason or "").startswith(code)


def test_a_wrong_secret_fails_the_signature_check(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with channel(server, monkeypatch, secret="wrong-key") as sms:
        delivery = sms.send(outgoing("13800000001"))
    assert delivery.status == "retry"
    assert (delivery.reason or "").startswith("AuthFailure.SignatureFailure")


def test_an_unreachable_api_means_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENCENT_SMS_KEY", SECRET_KEY)
    config = TencentSmsConfig(
        secret_id=SECRET_ID,
        secret_key_env="TENCENT_SMS_KEY",
        sdk_app_id="1400006666",
        sign_name="思语",
        endpoint="127.0.0.1:9",
        protocol="http",
        timeout_seconds=1,
    )
    with TencentSmsChannel(config) as sms:
        delivery = sms.send(outgoing("13800000001"))
    assert delivery.status == "retry"


def test_template_parameters_are_positional() -> None:
    assert template_params({"1": "a", "3": "c", "2": "b"}) == ["a", "b", "c"]
    assert template_params(["x", "y"]) == ["x", "y"]
    assert template_params({"name": "张三", "code": "1234"}) == ["张三", "1234"]
