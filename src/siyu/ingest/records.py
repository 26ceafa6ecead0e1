"""What importers produce: plain records, independent of the file they came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from siyu.kit.normalize import MAX_COUNT, MAX_FEN


class RowError(ValueError):
    """A row that cannot be imported; the reason is shown to the user with the line number."""


@dataclass
class LineRecord:
    title: str
    quantity: int = 1
    unit_price: int | None = None
    amount: int | None = None
    sku: str | None = None


@dataclass
class OrderRecord:
    line: int
    platform: str
    platform_order_id: str
    status: str
    placed_at: datetime
    identities: list[tuple[str, str]]
    profile: dict[str, Any] = field(default_factory=dict)
    shop: str = ""
    currency: str = "CNY"
    total_amount: int = 0
    paid_amount: int = 0
    # None: the file says nothing about refunds, so an import never erases a known refund.
    refunded_amount: int | None = None
    shipping_fee: int = 0
    discount_amount: int = 0
    paid_at: datetime | None = None
    completed_at: datetime | None = None
    coupon_code: str | None = None
    receiver_name: str | None = None
    receiver_province: str | None = None
    receiver_city: str | None = None
    lines: list[LineRecord] = field(default_factory=list)
    # An item-level report (Taobao 宝贝报表): its lines are authoritative, but its amounts cover
    # items only, so they never overwrite the totals of an order already known.
    items_only: bool = False


@dataclass
class ConsentRecord:
    channel: str
    granted: bool
    purpose: str = ""
    recorded_at: datetime | None = None


@dataclass
class ContactRecord:
    line: int
    identities: list[tuple[str, str]]
    profile: dict[str, Any] = field(default_factory=dict)
    tags: list[tuple[str, str]] = field(default_factory=list)
    owner_login: str | None = None
    consents: list[ConsentRecord] = field(default_factory=list)
    note: str | None = None
    traits: dict[str, Any] = field(default_factory=dict)


Record = OrderRecord | ContactRecord


# Column sizes of the store. Keys that are too long are refused (they would never match again);
# descriptive text is cut to fit, since a long receiver name is still the right receiver.
_REFUSED = {"platform_order_id": 64, "platform": 32, "coupon_code": 64}
_CUT = {"shop": 120, "receiver_name": 120, "receiver_province": 64, "receiver_city": 64}
_PROFILE_CUT = {"name": 200, "phone_hint": 64, "city": 64, "province": 64}


def fit(record: Record) -> Record:
    """Check a parsed record against the store's column sizes before it reaches the database."""
    # Runs once per row of a million-row file: plain loops, nothing allocated when all fits.
    for kind, value in record.identities:
        if len(value) > 255:
            raise RowError(f"{kind} {value[:20]}… is longer than 255 characters")
    profile = record.profile
    for key, limit in _PROFILE_CUT_ITEMS:
        value = profile.get(key)
        if value.__class__ is str and len(value) > limit:
            profile[key] = value[:limit]
    if isinstance(record, ContactRecord):
        for group, name in record.tags:
            if len(group) > 64 or len(name) > 64:
                raise RowError(f"tag {name[:20]}… is too long (64 characters per group and name)")
        return record
    if (
        len(record.platform_order_id) > 64
        or len(record.platform) > 32
        or (record.coupon_code is not None and len(record.coupon_code) > 64)
    ):
        for key, limit in _REFUSED.items():
            value = getattr(record, key)
            if value is not None and len(value) > limit:
                raise RowError(f"{key} {value[:20]}… is longer than {limit} characters")
    currency = record.currency
    if len(currency) != 3 or not currency.isalpha():
        raise RowError(f"currency {currency!r} is not a three-letter code such as CNY")
    if len(record.shop) > 120:
        record.shop = record.shop[:120]
    for key, limit in _CUT_OPTIONAL:
        value = getattr(record, key)
        if value is not None and len(value) > limit:
            setattr(record, key, value[:limit])
    for line in record.lines:
        if not 0 <= line.quantity <= MAX_COUNT:
            raise RowError(f"quantity {line.quantity} of {line.title[:20]!r} is out of range")
        for amount in (line.unit_price, line.amount):
            if amount is not None and abs(amount) > MAX_FEN:
                raise RowError(f"an amount of {line.title[:20]!r} is out of range")
        if len(line.title) > 500:
            line.title = line.title[:500]
        if line.sku is not None and len(line.sku) > 120:
            line.sku = line.sku[:120]
    return record


_PROFILE_CUT_ITEMS = tuple(_PROFILE_CUT.items())
_CUT_OPTIONAL = tuple((key, limit) for key, limit in _CUT.items() if key != "shop")
