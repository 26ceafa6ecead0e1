"""Every built-in channel comes through the same entry point door as a plugin would."""

from __future__ import annotations

import pytest

from siyu.contacts.models import CONSENT_CHANNELS
from siyu.engage.channels import registry
from siyu.engage.channels.base import Channel, ChannelConfig
from siyu.errors import Invalid

BUILT_IN = {"email", "aliyun_sms", "tencent_sms", "wecom", "wechat_oa", "webhook"}


def test_the_built_in_channels_load_through_entry_points() -> None:
    found = registry.channels()
    assert set(found) >= BUILT_IN
    for kind in BUILT_IN:
        cls = found[kind]
        assert issubclass(cls, Channel) and cls.kind == kind and cls.label
        assert issubclass(cls.Config, ChannelConfig)
        consent = cls.capabilities.consent_channel
        assert consent is None or consent in CONSENT_CHANNELS


def test_build_gives_a_configured_channel() -> None:
    built = registry.build("email", {"host": "smtp.example.com", "from_address": "a@example.com"})
    assert built.kind == "email"
    assert built.capabilities.subject and built.capabilities.unsubscribe_link


@pytest.mark.parametrize(
    ("kind", "config", "named"),
    [
        (
            "email",
            {"host": "smtp.example.com", "from_address": "a@example.com", "port": "x"},
            "port",
        ),
        ("email", {"host": "smtp.example.com"}, "from_address"),
        (
            "email",
            {"host": "h", "from_address": "a@example.com", "pasword_env": "P"},
            "pasword_env",
        ),
        ("webhook", {"url": "ftp://example.com", "secret_env": "S"}, "url"),
        (
            "webhook",
            {"url": "https://e.com", "secret_env": "S", "consent_channel": "fax"},
            "consent",
        ),
        ("tencent_sms", {"secret_id": "a", "secret_key_env": "has space"}, "secret_key_env"),
    ],
)
def test_a_bad_configuration_names_the_field(kind: str, config: dict, named: str) -> None:
    with pytest.raises(Invalid) as raised:
        registry.parse_config(kind, config)
    assert raised.value.message.startswith(f"{kind} channel configuration: ")
    assert named in raised.value.message


def test_an_unknown_kind_lists_the_known_ones() -> None:
    with pytest.raises(Invalid, match=r"known: .*email"):
        registry.channel_class("fax")
