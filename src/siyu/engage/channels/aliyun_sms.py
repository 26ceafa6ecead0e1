"""Alibaba Cloud SMS (dysmsapi SendSms) through Alibaba's own SDK.

Alibaba answers a refused message with HTTP 200 and a `Code` other than "OK", so the body is
what decides; an HTTP error (bad signature, throttled API) arrives as an SDK exception.
"""

from __future__ import annotations

import json
import os
from typing import Literal

from alibabacloud_dysmsapi20170525 import models as sms_models
from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_tea_openapi import utils_models as openapi_models
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from pydantic import Field

from siyu.engage.channels.base import ENV_NAME, Channel, ChannelConfig, Delivery, Outgoing
from siyu.engage.channels.sms import CAPABILITIES, check_template, e164

# Codes worth trying again later: flow control, an account out of credit, Alibaba's own faults.
RETRY_CODES = {
    "isv.BUSINESS_LIMIT_CONTROL",
    "isv.DAY_LIMIT_CONTROL",
    "isv.OUT_OF_SERVICE",
    "isv.AMOUNT_NOT_ENOUGH",
    "isp.SYSTEM_ERROR",
    "isp.GATEWAY_ERROR",
    "SignatureNonceUsed",
}
BAD_NUMBER_CODES = {"isv.MOBILE_NUMBER_ILLEGAL"}
# A refused access key is the channel's configuration, not the message: once it is fixed, the
# waiting messages go.
CREDENTIAL_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden", "InvalidTimeStamp")


class AliyunSmsConfig(ChannelConfig):
    access_key_id: str = Field(min_length=1)
    access_key_secret_env: str = Field(pattern=ENV_NAME)
    sign_name: str = Field(min_length=1, description="the approved signature, without 【】")
    endpoint: str = "dysmsapi.aliyuncs.com"
    protocol: Literal["https", "http"] = "https"
    connect_timeout_ms: int = Field(default=5000, gt=0)
    read_timeout_ms: int = Field(default=10000, gt=0)


class AliyunSmsChannel(Channel):
    kind = "aliyun_sms"
    label = "Alibaba Cloud SMS"
    Config = AliyunSmsConfig
    capabilities = CAPABILITIES

    def __init__(self, config: ChannelConfig) -> None:
        assert isinstance(config, AliyunSmsConfig)
        super().__init__(config)
        self.config: AliyunSmsConfig = config
        self._client: Client | None = None
        self._problem: str | None = None

    def open(self) -> None:
        config = self.config
        secret = os.environ.get(config.access_key_secret_env)
        if not secret:
            self._problem = f"environment variable {config.access_key_secret_env} is not set"
            return
        self._problem = None
        self._client = Client(
            openapi_models.Config(
                access_key_id=config.access_key_id,
                access_key_secret=secret,
                endpoint=config.endpoint,
                protocol=config.protocol,
                connect_timeout=config.connect_timeout_ms,
                read_timeout=config.read_timeout_ms,
            )
        )

    def close(self) -> None:
        self._client = None

    def check(self, message: Outgoing) -> list[str]:
        return check_template(message)

    def send(self, message: Outgoing) -> Delivery:
        number = aliyun_number(message.address or "")
        if number is None:
            return Delivery(
                "failed", reason=f"not a phone number: {message.address!r}", bad_address=True
            )
        if not message.template_code:
            return Delivery("failed", reason="no template code")
        if self._client is None:
            self.open()
        if self._client is None:
            return Delivery("retry", reason=self._problem)
        request = sms_models.SendSmsRequest(
            phone_numbers=number,
            sign_name=self.config.sign_name,
            template_code=message.template_code,
            template_param=json.dumps(message.params, ensure_ascii=False),
            out_id=message.key[:64],  # comes back in delivery receipts
        )
        try:
            body = self._client.send_sms(request).body
        except AlibabaCloudException as error:
            return api_error(error)
        except Exception as error:  # the SDK wraps network faults in many types
            return Delivery("retry", reason=f"Alibaba Cloud unreachable: {error}")
        return answer(body.code or "", body.message or "", body.biz_id)


def aliyun_number(address: str) -> str | None:
    """Alibaba wants a mainland number as 11 digits, any other as country code and number."""
    number = e164(address)
    if number is None:
        return None
    return number[3:] if number.startswith("+86") else number[1:]


def answer(code: str, text: str, biz_id: str | None) -> Delivery:
    if code == "OK":
        return Delivery("sent", provider_id=biz_id)
    reason = f"{code}: {text}"
    if code in RETRY_CODES or code.startswith("Throttling"):
        return Delivery("retry", reason=reason)
    if code in BAD_NUMBER_CODES:
        return Delivery("failed", reason=reason, bad_address=True)
    return Delivery("failed", reason=reason)


def api_error(error: AlibabaCloudException) -> Delivery:
    """An HTTP error: throttling, Alibaba's own fault and a refused key are worth a retry."""
    code = str(error.code or "")
    status = error.status_code or 0
    reason = f"{code}: {error.message}"
    if status >= 500 or status == 429 or code in RETRY_CODES:
        return Delivery("retry", reason=reason)
    if code.startswith(("Throttling", *CREDENTIAL_CODES)):
        return Delivery("retry", reason=reason)
    return Delivery("failed", reason=reason)
