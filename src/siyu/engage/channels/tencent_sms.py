"""Tencent Cloud SMS (SendSms, API version 2021-01-11) through Tencent's own SDK.

A request that Tencent refuses as a whole (bad template, throttled API) raises; a request it
takes answers each number in `SendStatusSet`, and that per-number `Code` decides.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models as sms_models
from tencentcloud.sms.v20210111.sms_client import SmsClient

from siyu.engage.channels.base import ENV_NAME, Channel, ChannelConfig, Delivery, Outgoing
from siyu.engage.channels.sms import CAPABILITIES, check_template, e164

# Transient: rate limits, Tencent's own faults, the network; and a refused key (the channel's
# configuration, not the message: once it is fixed the waiting messages go).
RETRY_PREFIXES = (
    "LimitExceeded",
    "RequestLimitExceeded",
    "InternalError",
    "ClientNetworkError",
    "ServerNetworkError",
    "AuthFailure",
    "FailedOperation.InsufficientBalanceInSmsPackage",
)
# The number itself will never take a message: it is malformed, or its owner unsubscribed.
BAD_NUMBER_CODES = {
    "InvalidParameterValue.IncorrectPhoneNumber",
    "FailedOperation.PhoneNumberInBlacklist",
}


class TencentSmsConfig(ChannelConfig):
    secret_id: str = Field(min_length=1)
    secret_key_env: str = Field(pattern=ENV_NAME)
    region: str = "ap-guangzhou"
    sdk_app_id: str = Field(min_length=1, description="SmsSdkAppId of the SMS application")
    sign_name: str = Field(min_length=1, description="the approved signature, without 【】")
    endpoint: str = "sms.tencentcloudapi.com"
    protocol: Literal["https", "http"] = "https"
    timeout_seconds: int = Field(default=10, gt=0)


class TencentSmsChannel(Channel):
    kind = "tencent_sms"
    label = "Tencent Cloud SMS"
    Config = TencentSmsConfig
    capabilities = CAPABILITIES

    def __init__(self, config: ChannelConfig) -> None:
        assert isinstance(config, TencentSmsConfig)
        super().__init__(config)
        self.config: TencentSmsConfig = config
        self._client: SmsClient | None = None
        self._problem: str | None = None

    def open(self) -> None:
        config = self.config
        secret = os.environ.get(config.secret_key_env)
        if not secret:
            self._problem = f"environment variable {config.secret_key_env} is not set"
            return
        self._problem = None
        http = HttpProfile(
            protocol=config.protocol,
            endpoint=config.endpoint,
            reqTimeout=config.timeout_seconds,
            keepAlive=True,  # one connection for the run, not one a message
        )
        self._client = SmsClient(
            Credential(config.secret_id, secret), config.region, ClientProfile(httpProfile=http)
        )

    def close(self) -> None:
        self._client = None

    def check(self, message: Outgoing) -> list[str]:
        return check_template(message)

    def send(self, message: Outgoing) -> Delivery:
        number = e164(message.address or "")
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
        request = sms_models.SendSmsRequest()
        request.SmsSdkAppId = self.config.sdk_app_id
        request.SignName = self.config.sign_name
        request.TemplateId = message.template_code
        request.TemplateParamSet = template_params(message.params)
        request.PhoneNumberSet = [number]
        request.SessionContext = message.key  # comes back in delivery receipts
        try:
            response = self._client.SendSms(request)
        except TencentCloudSDKException as error:
            return answer(error.code or "", error.message or "")
        statuses = response.SendStatusSet or []
        if not statuses:
            return Delivery("retry", reason=f"no status in the answer ({response.RequestId})")
        status = statuses[0]
        return answer(status.Code or "", status.Message or "", status.SerialNo)


def template_params(params: dict[str, str] | list[str]) -> list[str]:
    """Tencent's parameters are positional: {"1": …, "2": …} in the order of the numbers; any
    other keys in the order given."""
    if isinstance(params, list):
        return [str(value) for value in params]
    keys = list(params)
    if all(key.isdigit() for key in keys):
        keys.sort(key=int)
    return [str(params[key]) for key in keys]


def answer(code: str, text: str, serial_no: str | None = None) -> Delivery:
    if code == "Ok":
        return Delivery("sent", provider_id=serial_no)
    reason = f"{code}: {text}"
    if code.startswith(RETRY_PREFIXES):
        return Delivery("retry", reason=reason)
    if code in BAD_NUMBER_CODES:
        return Delivery("failed", reason=reason, bad_address=True)
    return Delivery("failed", reason=reason)
