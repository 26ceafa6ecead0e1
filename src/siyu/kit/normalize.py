"""Normalising what people type: phone numbers, e-mail addresses, money, empty cells."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from siyu.config import get_settings

# What back offices write for "nothing here".
EMPTY_MARKERS = frozenset({"", "-", "--", "—", "——", "null", "NULL", "None", "无", "/", "N/A"})

_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_MASKED = re.compile(r"[*＊xX]{2,}|\*")
_VIRTUAL = re.compile(r"^\+?\d{11,13}[-_转#,，]\d{1,6}$")


def clean_cell(value: object) -> str | None:
    """Strip what spreadsheets wrap around values: ="…", leading tab or apostrophe, blanks."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    text = text.strip().strip("\t").strip()
    if text.startswith('="') and text.endswith('"'):
        text = text[2:-1].strip()
    elif text.startswith("'"):
        text = text[1:].strip()
    if text in EMPTY_MARKERS:
        return None
    return text


class PhoneResult:
    """Either a linkable E.164 number or a display hint that must never link people."""

    __slots__ = ("e164", "hint")

    def __init__(self, e164: str | None, hint: str | None) -> None:
        self.e164 = e164
        self.hint = hint


def normalise_phone(text: str | None, region: str | None = None) -> PhoneResult:
    if not text:
        return PhoneResult(None, None)
    raw = text.strip()
    compact = re.sub(r"[\s()（）]", "", raw)
    if compact.startswith("+86"):
        compact_local = compact[3:].lstrip("-")
    elif compact.startswith("86") and len(compact) == 13:
        compact_local = compact[2:]
    else:
        compact_local = compact
    # Masked (138****1234) and virtual numbers with an extension (13800138000-1234) are
    # what platforms now export to hide the buyer: keep them to show, never to link.
    if _MASKED.search(compact) or _VIRTUAL.match(compact):
        return PhoneResult(None, raw)
    # Fast path for the common case; equal to what phonenumbers gives (a test checks this).
    if _CN_MOBILE.match(compact_local):
        return PhoneResult("+86" + compact_local, None)
    try:
        parsed = phonenumbers.parse(compact, region or get_settings().default_region)
    except phonenumbers.NumberParseException:
        return PhoneResult(None, raw)
    if not phonenumbers.is_valid_number(parsed):
        return PhoneResult(None, raw)
    return PhoneResult(
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), None
    )


def normalise_email(text: str | None) -> str | None:
    """Lower-cased normalised address, or None when it is not an address."""
    if not text:
        return None
    try:
        result = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    # Mail providers treat the local part case-insensitively in practice; so do we.
    return result.normalized.lower()


_MONEY_NOISE = re.compile(r"[¥￥,，\s元]|RMB|CNY", re.IGNORECASE)


def parse_money(text: object) -> int | None:
    """'¥1,299.00', '129.00元', '12.5' → integer fen; empty markers → None.

    Raises ValueError for text that is not an amount.
    """
    if text is None:
        return None
    if isinstance(text, int | float) and not isinstance(text, bool):
        return yuan_to_fen(Decimal(str(text)))
    cleaned = clean_cell(text)
    if cleaned is None:
        return None
    cleaned = _MONEY_NOISE.sub("", cleaned)
    if not cleaned:
        return None
    try:
        return yuan_to_fen(Decimal(cleaned))
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None


# ¥10 trillion, in fen: anything larger is a typo or garbage, and would overflow a BIGINT.
MAX_FEN = 10**15
MAX_COUNT = 2**31 - 1


def yuan_to_fen(amount: Decimal) -> int:
    if not amount.is_finite():
        raise ValueError(f"not an amount: {amount}")
    fen = int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if abs(fen) > MAX_FEN:
        raise ValueError(f"amount out of range: {amount}")
    return fen


def fen_to_yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def parse_int(text: object, default: int | None = None) -> int | None:
    cleaned = clean_cell(text)
    if cleaned is None:
        return default
    try:
        number = Decimal(cleaned.replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"not a whole number: {text!r}") from None
    if not number.is_finite() or abs(number) > MAX_COUNT:
        raise ValueError(f"number out of range: {text!r}")
    return int(number)
