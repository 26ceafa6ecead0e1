"""Coupon codes: a prefix and twelve random characters no one can guess or misread."""

from __future__ import annotations

import re
import secrets

# No 0/O, 1/I/L: a code read out over the phone or typed from a screenshot stays the code.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RANDOM_LENGTH = 12  # 31^12 ≈ 2^59: guessing one live code among millions stays hopeless
PREFIX = re.compile(r"^[A-Z0-9]{0,12}$")


def new_code(prefix: str) -> str:
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))


def normalise_code(text: str | None) -> str:
    """What a customer or a shop export wrote, as stored: no spaces or dashes, upper case."""
    return re.sub(r"[\s\-]", "", text or "").upper()


def yuan(fen: int) -> str:
    """¥ amounts as people say them: 20, 19.90."""
    whole, cents = divmod(fen, 100)
    return f"{whole}" if not cents else f"{whole}.{cents:02d}"
