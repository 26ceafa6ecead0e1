"""The webhook channel against an HTTP server on loopback that checks the signature."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from siyu.engage.channels.base import Outgoing
from siyu.engage.channels.webhook import WebhookChannel, WebhookConfig, sign, verify_signature
from tests.engage.channels.fakes import FakeServer, Reply, Request, http_server

SECRET = "whsec-test"


class Receiver:
    """Verifies each call as a merchant's receiver would; `plan` is the statuses to answer."""

    def __init__(self, plan: list[int]) -> None:
        self.plan = plan
        self.verified: list[bool] = []

    def __call__(self, request: Request) -> Reply:
        ok = verify_signature(
            SECRET,
            request.headers.get("x-siyu-timestamp", ""),
            request.body,
            request.headers.get("x-siyu-signature", ""),
        )
        self.verified.append(ok)
        if not ok:
            return Reply(401, {"error": "bad signature"})
        status = self.plan.pop(0) if self.plan else 200
        if status == 400:
            return Reply(400, {"error": "unknown contact"})
        return Reply(status, {"ok": status < 300}, headers={"X-Request-Id": "req-1"})


@pytest.fixture
def receiver() -> Receiver:
    return Receiver([])


@pytest.fixture
def server(receiver: Receiver) -> Iterator[FakeServer]:
    with http_server(receiver) as running:
        yield running


def channel(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, **config: object
) -> WebhookChannel:
    monkeypatch.setenv("WEBHOOK_SECRET", config.pop("secret", SECRET))  # type: ignore[arg-type]
    settings = {"url": f"{server.url}/hooks/siyu", "secret_env": "WEBHOOK_SECRET", **config}
    return WebhookChannel(WebhookConfig.model_validate(settings))


def outgoing() -> Outgoing:
    return Outgoing(
        message_id=17,
        key="journey:4:birthday:42:1",
        category="marketing",
        contact_id=42,
        address=None,
        subject="生日快乐",
        body="张三，生日快乐！送您一张券",
        params={"coupon": "BDAY50"},
        extra={"name": "张三", "tags": ["vip"]},
    )


def test_a_signed_json_post_is_sent(
    server: FakeServer, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    with channel(server, monkeypatch) as webhook:
        delivery = webhook.send(outgoing())
    assert (delivery.status, delivery.provider_id) == ("sent", "req-1")
    [request] = server.requests
    assert receiver.verified == [True]
    assert request.path == "/hooks/siyu"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["idempotency-key"] == "journey:4:birthday:42:1"
    assert request.json() == {
        "message_id": 17,
        "key": "journey:4:birthday:42:1",
        "category": "marketing",
        "contact_id": 42,
        "address": None,
        "subject": "生日快乐",
        "body": "张三，生日快乐！送您一张券",
        "params": {"coupon": "BDAY50"},
        "extra": {"name": "张三", "tags": ["vip"]},
    }


def test_a_server_error_is_retried_within_the_call(
    server: FakeServer, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.plan = [500]
    with channel(server, monkeypatch) as webhook:
        delivery = webhook.send(outgoing())
    assert delivery.status == "sent"
    assert len(server.requests) == 2
    assert server.requests[0].body == server.requests[1].body


def test_persistent_server_errors_leave_it_to_the_dispatcher(
    server: FakeServer, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.plan = [503, 502, 500, 200]
    with channel(server, monkeypatch) as webhook:
        delivery = webhook.send(outgoing())
    assert delivery.status == "retry" and "HTTP 500" in (delivery.reason or "")
    assert len(server.requests) == 3  # the call and two quick retries


def test_a_client_error_fails_with_the_status_and_body(
    server: FakeServer, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.plan = [400]
    with channel(server, monkeypatch) as webhook:
        delivery = webhook.send(outgoing())
    assert delivery.status == "failed"
    assert delivery.reason == 'HTTP 400: {"error": "unknown contact"}'
    assert len(server.requests) == 1


def test_a_wrong_secret_is_caught_by_the_receiver(
    server: FakeServer, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    with channel(server, monkeypatch, secret="other") as webhook:
        delivery = webhook.send(outgoing())
    assert receiver.verified == [False]
    assert delivery.status == "failed" and "401" in (delivery.reason or "")


def test_an_unreachable_receiver_means_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    config = WebhookConfig(url="http://127.0.0.1:9/", secret_env="WEBHOOK_SECRET", quick_retries=0)
    with WebhookChannel(config) as webhook:
        assert webhook.send(outgoing()).status == "retry"


def test_the_consent_channel_comes_from_the_configuration(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert channel(server, monkeypatch).capabilities.consent_channel is None
    assert channel(server, monkeypatch, consent_channel="sms").capabilities.consent_channel == "sms"
    assert WebhookChannel.capabilities.consent_channel is None


def test_verify_signature_rejects_tampering_and_replays() -> None:
    body = json.dumps({"key": "k"}).encode()
    now = int(time.time())
    header = "sha256=" + sign(SECRET, str(now), body)
    assert verify_signature(SECRET, str(now), body, header)
    assert verify_signature(SECRET.encode(), now, body, header)
    assert not verify_signature(SECRET, str(now), body + b" ", header)
    assert not verify_signature("other", str(now), body, header)
    assert not verify_signature(SECRET, str(now + 1), body, header)
    assert not verify_signature(SECRET, str(now), body, header, now=now + 301)
    assert not verify_signature(SECRET, "yesterday", body, header)
    assert not verify_signature(SECRET, str(now), body, header.replace("sha256=", "md5="))
