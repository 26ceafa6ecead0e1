"""Signed tokens in the links a message carries: unsubscribe and tracked clicks.

A token names a message, and for clicks the address it leads to; forged or altered tokens are
refused, so nobody can unsubscribe someone else or turn Siyu into an open redirect.
"""

from __future__ import annotations

from functools import lru_cache

from itsdangerous import BadSignature, URLSafeSerializer

from siyu.config import get_settings
from siyu.console.secret import secret_key


def _signer(purpose: str) -> URLSafeSerializer:
    return _signer_for(secret_key(get_settings()), purpose)


@lru_cache(maxsize=16)
def _signer_for(key: str, purpose: str) -> URLSafeSerializer:
    # Built once per key: a campaign signs two links per message.
    return URLSafeSerializer(key, salt=f"siyu.engage.{purpose}")


def unsubscribe_token(message_id: int) -> str:
    return _signer("unsubscribe").dumps(message_id)


def unsubscribe_url(message_id: int) -> str:
    return f"{get_settings().public_url.rstrip('/')}/u/{unsubscribe_token(message_id)}"


def message_from_unsubscribe(token: str) -> int | None:
    try:
        value = _signer("unsubscribe").loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def click_url(message_id: int, url: str) -> str:
    token = _signer("click").dumps([message_id, url])
    return f"{get_settings().public_url.rstrip('/')}/r/{token}"


def click_from_token(token: str) -> tuple[int, str] | None:
    try:
        value = _signer("click").loads(token)
    except BadSignature:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not isinstance(value[0], int)
        or not isinstance(value[1], str)
    ):
        return None
    return value[0], value[1]
