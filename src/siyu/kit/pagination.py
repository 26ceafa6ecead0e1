"""Cursor pagination: opaque cursors over a sort key, so deep pages cost what the first does."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from siyu.errors import Invalid


@dataclass
class Page:
    items: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str | None = None


def encode_cursor(*values: Any) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, json.JSONDecodeError):
        raise Invalid(f"cursor {cursor!r} is not one this server gave out") from None
    if not isinstance(values, list) or len(values) != size:
        raise Invalid(f"cursor {cursor!r} is not one this server gave out")
    return values


def is_id(value: Any) -> bool:
    """A decoded cursor or a typed id is client input: only a 64-bit integer may reach a query."""
    return type(value) is int and 0 < value < 2**63
