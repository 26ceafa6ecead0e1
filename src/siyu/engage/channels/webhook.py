"""Webhook: each message as a signed JSON POST to the merchant's own system.

The body is signed with HMAC-SHA256 over "{timestamp}.{body}", so a receiver can tell the call
came from Siyu and is fresh (`verify_signature` below is the check, for receivers in Python).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from dataclasses import replace
from typing import Literal

import httpx
import orjson
from pydantic import Field

from siyu.engage.channels.base import (
    ENV_NAME,
    Capabilities,
    Channel,
    ChannelConfig,
    Delivery,
    Outgoing,
)

SIGNATURE_HEADER = "X-Siyu-Signature"
TIMESTAMP_HEADER = "X-Siyu-Timestamp"
QUICK_BACKOFF = (0.2, 0.6)  # seconds before each in-call retry; the dispatcher's come later


class WebhookConfig(ChannelConfig):
    url: str = Field(pattern=r"^https?://")
    secret_env: str = Field(pattern=ENV_NAME)
    # The consent a marketing message through this webhook needs ("none": transactional only,
    # or the receiver asks for consent itself).
    consent_channel: Literal["email", "sms", "wecom", "wechat_oa", "none"] = "none"
    timeout_seconds: float = Field(default=10.0, gt=0)
    quick_retries: int = Field(default=2, ge=0, le=len(QUICK_BACKOFF))


class WebhookChannel(Channel):
    kind = "webhook"
    label = "Webhook"
    Config = WebhookConfig
    capabilities = Capabilities(address_kind=None, consent_channel=None)

    def __init__(self, config: ChannelConfig) -> None:
        assert isinstance(config, WebhookConfig)
        super().__init__(config)
        self.config: WebhookConfig = config
        consent = None if config.consent_channel == "none" else config.consent_channel
        self.capabilities = replace(WebhookChannel.capabilities, consent_channel=consent)
        self._http: httpx.Client | None = None
        self._secret: bytes | None = None
        self._problem: str | None = None

    def open(self) -> None:
        secret = os.environ.get(self.config.secret_env)
        if not secret:
            self._problem = f"environment variable {self.config.secret_env} is not set"
            return
        self._problem = None
        self._secret = secret.encode()
        self._http = httpx.Client(
            timeout=self.config.timeout_seconds, headers={"User-Agent": "Siyu-Webhook/1"}
        )

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
        self._http = None

    def send(self, message: Outgoing) -> Delivery:
        if self._http is None:
            self.open()
        if self._http is None or self._secret is None:
            return Delivery("retry", reason=self._problem)
        body = orjson.dumps(
            {
                "message_id": message.message_id,
                "key": message.key,
                "category": message.category,
                "contact_id": message.contact_id,
                "address": message.address,
                "subject": message.subject,
                "body": message.body,
                "params": message.params,
                "extra": message.extra,
            },
            default=str,  # dates and decimals in contact data arrive as text
        )
        delivery = Delivery("retry")
        for attempt in range(self.config.quick_retries + 1):
            if attempt:
                time.sleep(QUICK_BACKOFF[attempt - 1])
            delivery = self._post(body, message.key)
            if delivery.status != "retry":
                break
        return delivery

    def _post(self, body: bytes, key: str) -> Delivery:
        assert self._http is not None and self._secret is not None
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: "sha256=" + sign(self._secret, timestamp, body),
            # The receiver may see one message twice (a lost answer); the key tells it so.
            "Idempotency-Key": key,
        }
        try:
            response = self._http.post(self.config.url, content=body, headers=headers)
        except httpx.HTTPError as error:
            return Delivery("retry", reason=f"{type(error).__name__}: {error}")
        status = response.status_code
        if 200 <= status < 300:
            return Delivery("sent", provider_id=response.headers.get("X-Request-Id"))
        reason = f"HTTP {status}: {response.text[:200]}"
        # 408 and 429 are the receiver saying "later", like a 5xx.
        if status >= 500 or status in (408, 429):
            return Delivery("retry", reason=reason)
        return Delivery("failed", reason=reason)


def sign(secret: bytes | str, timestamp: str, body: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify_signature(
    secret: bytes | str,
    timestamp: str | int,
    body: bytes,
    header: str,
    tolerance_seconds: int = 300,
    *,
    now: float | None = None,
) -> bool:
    """For a receiver: is this the body Siyu signed, sent within `tolerance_seconds` of now?

    `timestamp` is the X-Siyu-Timestamp header, `header` the X-Siyu-Signature one ("sha256=…"),
    `body` the raw bytes received, before any JSON parsing. The tolerance stops a recorded
    call from being replayed later.
    """
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance_seconds:
        return False
    scheme, _, signature = header.partition("=")
    if scheme != "sha256" or not signature:
        return False
    expected = sign(secret, str(timestamp), body)
    return hmac.compare_digest(expected, signature.strip().lower())
