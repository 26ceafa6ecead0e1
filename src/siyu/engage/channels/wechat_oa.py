"""WeChat Official Account (公众号) template messages.

A template message reaches a follower of the account with one of its approved templates; it is
a service notice, and WeChat bans accounts that use it for marketing.
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
from siyu.engage.channels.wechat_api import OfficialAccountApiClient, call

# 40003: not an openid of this account; 43004: the person does not follow the account (any more).
BAD_ADDRESS_CODES = (40003, 43004)


class WechatOaConfig(ChannelConfig):
    app_id: str = Field(min_length=1)
    secret_env: str = Field(pattern=ENV_NAME)
    api_base_url: str = Field(default="https://api.weixin.qq.com/cgi-bin/", pattern=r"/$")
    timeout_seconds: float = Field(default=10.0, gt=0)


class WechatOaChannel(Channel):
    kind = "wechat_oa"
    label = "WeChat Official Account"
    Config = WechatOaConfig
    capabilities = Capabilities(
        address_kind="wechat_openid", consent_channel="wechat_oa", provider_templates=True
    )

    def __init__(self, config: ChannelConfig) -> None:
        assert isinstance(config, WechatOaConfig)
        super().__init__(config)
        self.config: WechatOaConfig = config
        self._client: OfficialAccountApiClient | None = None
        self._problem: str | None = None

    def open(self) -> None:
        secret = os.environ.get(self.config.secret_env)
        if not secret:
            self._problem = f"environment variable {self.config.secret_env} is not set"
            return
        self._problem = None
        self._client = OfficialAccountApiClient(
            self.config.app_id,
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
        if not message.address:
            problems.append("no openid")
        if not message.template_code:
            problems.append("a template message needs the template id")
        return problems

    def send(self, message: Outgoing) -> Delivery:
        if not message.address:
            return Delivery("failed", reason="no openid", bad_address=True)
        if not message.template_code:
            return Delivery("failed", reason="no template id")
        if self._client is None:
            self.open()
        client = self._client
        if client is None:
            return Delivery("retry", reason=self._problem)
        data = {name: {"value": value} for name, value in message.params.items()}
        template_id = message.template_code
        result, delivery = call(
            lambda: client.message.send_template(
                message.address, template_id, data, url=message.extra.get("url")
            ),
            bad_address_codes=BAD_ADDRESS_CODES,
        )
        if delivery is not None:
            return delivery
        assert result is not None
        msgid = result.get("msgid")
        return Delivery("sent", provider_id=None if msgid is None else str(msgid))
