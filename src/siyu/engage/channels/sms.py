"""What the SMS channels share: the carriers' length rule and phone number forms."""

from __future__ import annotations

import re

from siyu.engage.channels.base import Capabilities, Outgoing

SINGLE = 70  # characters one SMS may carry, signature included
PART = 67  # characters each part of a longer one carries (the rest is the joining header)
MAINLAND = re.compile(r"^1\d{10}$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")

CAPABILITIES = Capabilities(address_kind="phone", consent_channel="sms", provider_templates=True)


def sms_length(text: str, signature: str = "") -> tuple[int, int]:
    """(characters, segments) of an SMS as Alibaba Cloud and Tencent Cloud bill it.

    The signature counts with its brackets 【…】; every character (Chinese, letter, digit, space,
    punctuation) counts as one; up to 70 is one message, a longer one is sent in parts of 67. A
    character beyond the Basic Multilingual Plane (an emoji) takes two places in the UCS-2
    encoding carriers use, so it counts twice.
    """
    if signature and not (signature.startswith("【") and signature.endswith("】")):
        signature = f"【{signature}】"
    whole = signature + text
    characters = len(whole) + sum(1 for c in whole if ord(c) > 0xFFFF)
    if characters == 0:
        return 0, 0
    if characters <= SINGLE:
        return characters, 1
    return characters, -(-characters // PART)


def e164(address: str) -> str | None:
    """+86… for a mainland number given bare or with 86/0086, E.164 as it is; None otherwise."""
    number = re.sub(r"[\s-]", "", address)
    if number.startswith("0086"):
        number = "+86" + number[4:]
    elif number.startswith("86") and MAINLAND.match(number[2:]):
        number = "+" + number
    elif MAINLAND.match(number):
        number = "+86" + number
    return number if E164.match(number) else None


def check_template(message: Outgoing) -> list[str]:
    problems = []
    if not message.address or e164(message.address) is None:
        problems.append(f"{message.address!r} is not a phone number")
    if not message.template_code:
        problems.append("an SMS needs the provider's template code")
    return problems
