"""WeCom (企业微信) customer contact: a message from a staff member to one of their customers.

A company cannot message a customer's WeChat directly. `add_msg_template` puts the message in
the contact owner's WeCom app as a task, and it goes out when that staff member confirms it, so
"sent" here means "handed to the staff member". The welcome message (`send_welcome_msg`) goes
at once, with the `welcome_code` of a `contact_added` event, within 20 seconds of it.
"""

from __future__ import annotations

import os

from pydantic import Field

from siyu.engage.channels.base import (
    ENV_NAME,
    Capabilities,
    Channel,
    ChannelConfig,
    Delivery,
    Outgoing,
)
from siyu.engage.channels.wechat_api import WecomClient, call

# Not a valid external userid, or not a customer of this staff member.
BAD_ADDRESS_CODES = (40003, 40096, 84061)
MAX_TEXT_BYTES = 4000  # WeCom's limit for a text content


class WecomConfig(ChannelConfig):
    corp_id: str = Field(min_length=1)
    secret_env: str = Field(
        pattern=ENV_NAME,
        description="environment variable with the customer contact (客户联系) secret",
    )
    api_base_url: str = Field(default="https://qyapi.weixin.qq.com/cgi-bin/", pattern=r"/$")
    timeout_seconds: float = Field(default=10.0, gt=0)


class WecomChannel(Channel):
    kind = "wecom"
    label = "WeCom customer contact"
    Config = WecomConfig
    capabilities = Capabilities(address_kind="wecom_external_userid", consent_channel="wecom")

    def __init__(self, config: ChannelConfig) -> None:
        assert isinstance(config, WecomConfig)
        super().__init__(config)
        self.config: WecomConfig = config
        self._client: WecomClient | None = None
        self._problem: str | None = None

    def open(self) -> None:
        secret = os.environ.get(self.config.secret_env)
        if not secret:
            self._problem = f"environment variable {self.config.secret_env} is not set"
            return
        self._problem = None
        self._client = WecomClient(
            self.config.corp_id,
            secret,
            api_base_url=self.config.api_base_url,
            timeout=self.config.timeout_seconds,
        )

    def close(self) -> None:
        if self._client is not None:
            self._client._http.close()
        self._client = None

    def check(self, message: Outgoing) -> list[str]:
        problems = []
        if not message.body.strip():
            problems.append("the message is empty")
        if len(message.body.encode()) > MAX_TEXT_BYTES:
            problems.append(f"WeCom takes at most {MAX_TEXT_BYTES} bytes of text")
        if not message.extra.get("welcome_code"):
            if not message.address:
                problems.append("no external userid")
            if not message.extra.get("sender"):
                problems.append("no sender: the contact owner's WeCom userid")
        return problems

    def send(self, message: Outgoing) -> Delivery:
        if self._client is None:
            self.open()
        client = self._client
        if client is None:
            return Delivery("retry", reason=self._problem)
        text = {"content": message.body}
        welcome_code = message.extra.get("welcome_code")
        if welcome_code:
            _, delivery = call(
                lambda: client.post(
                    "externalcontact/send_welcome_msg",
                    data={"welcome_code": welcome_code, "text": text},
                ),
                bad_address_codes=BAD_ADDRESS_CODES,
            )
            return delivery or Delivery("sent")
        if not message.address:
            return Delivery("failed", reason="no external userid", bad_address=True)
        sender = message.extra.get("sender")
        if not sender:
            return Delivery("failed", reason="no sender (the contact owner's WeCom userid)")
        result, delivery = call(
            lambda: client.post(
                "externalcontact/add_msg_template",
                data={
                    "chat_type": "single",
                    "external_userid": [message.address],
                    "sender": sender,
                    "text": text,
                },
            ),
            bad_address_codes=BAD_ADDRESS_CODES,
        )
        if delivery is not None:
            return delivery
        assert result is not None
        if message.address in (result.get("fail_list") or []):
            return Delivery(
                "failed", reason=f"not a customer of {sender}: {message.address}", bad_address=True
            )
        return Delivery("sent", provider_id=result.get("msgid"))
