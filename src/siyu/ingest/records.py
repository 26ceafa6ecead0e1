"""What importers produce: plain records, independent of the file they came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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
