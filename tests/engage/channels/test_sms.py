"""The carriers' SMS length rule and phone number forms shared by the SMS channels."""

from __future__ import annotations

import pytest

from siyu.engage.channels.sms import e164, sms_length


@pytest.mark.parametrize(
    ("text", "signature", "expected"),
    [
        ("", "", (0, 0)),
        ("您的验证码是123456", "思语", (16, 1)),  # 【思语】 is four characters
        ("您的验证码是123456", "【思语】", (16, 1)),  # brackets given: not doubled
        ("字" * 66, "思语", (70, 1)),  # exactly 70: one message
        ("字" * 67, "思语", (71, 2)),  # 71: two parts of 67
        ("字" * 130, "思语", (134, 2)),
        ("字" * 131, "思语", (135, 3)),
        ("a" * 70, "", (70, 1)),  # letters count like Chinese characters, not by bytes
        ("🎉" * 35, "", (70, 1)),  # beyond the BMP: two places each
        ("🎉" * 36, "", (72, 2)),
    ],
)
def test_length_follows_the_carriers_rule(
    text: str, signature: str, expected: tuple[int, int]
) -> None:
    assert sms_length(text, signature) == expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("13800138000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("8613800138000", "+8613800138000"),
        ("008613800138000", "+8613800138000"),
        ("+85291234567", "+85291234567"),
        ("12345", None),
        ("not a number", None),
    ],
)
def test_phone_numbers_in_e164(address: str, expected: str | None) -> None:
    assert e164(address) == expected
