"""Orders ready to write: what the pipeline needs of each parsed order, as plain values.

Prepared where the file is parsed (in the importing process, or in a parsing process of its
own for large files). Plain tuples of strings and numbers cross between processes through
`marshal` for a small fraction of the cost of pickling objects, and need no conversion before
they reach the driver: times are UTC text, as SQLite stores them.
"""

from __future__ import annotations

import marshal
from datetime import UTC
from typing import Any, NamedTuple

from siyu.db.bulk import utc_text
from siyu.ingest.records import OrderRecord

# The order columns a file provides, in the order of PreparedOrder.values.
VALUE_COLUMNS = (
    "platform",
    "shop",
    "platform_order_id",
    "status",
    "currency",
    "total_amount",
    "paid_amount",
    "refunded_amount",
    "shipping_fee",
    "discount_amount",
    "placed_at",
    "paid_at",
    "completed_at",
    "coupon_code",
    "receiver_name",
    "receiver_province",
    "receiver_city",
)
POSITION = {name: index for index, name in enumerate(VALUE_COLUMNS)}
TIME_POSITIONS = tuple(POSITION[name] for name in ("placed_at", "paid_at", "completed_at"))
# Order line columns, in the order of each tuple in PreparedOrder.lines.
LINE_COLUMNS = ("title", "sku", "quantity", "unit_price", "amount")


class PreparedOrder(NamedTuple):
    line: int
    platform: str
    platform_order_id: str
    identities: list[tuple[str, str]]
    profile: dict[str, Any]
    values: tuple[Any, ...]  # VALUE_COLUMNS; refunds the file says nothing about are 0
    lines: tuple[tuple[Any, ...], ...]  # LINE_COLUMNS
    # False when the file says nothing about refunds: an import never erases a known refund.
    refund_known: bool
    # An item-level report: its lines are authoritative, its amounts cover items only.
    items_only: bool


def prepare_orders(records: list[OrderRecord]) -> list[PreparedOrder]:
    return [_prepare(record) for record in _latest_per_order(records)]


def _latest_per_order(records: list[OrderRecord]) -> list[OrderRecord]:
    """An order listed twice in one chunk: the later row is the newer state; keep every identity."""
    latest: dict[tuple[str, str], OrderRecord] = {}
    for record in records:
        key = (record.platform, record.platform_order_id)
        earlier = latest.pop(key, None)
        if earlier is not None:
            record.identities += [i for i in earlier.identities if i not in record.identities]
        latest[key] = record
    return list(latest.values())


def _prepare(r: OrderRecord) -> PreparedOrder:
    # utc_text inlined for times importers parsed as UTC: three a row, a million rows a file.
    placed, paid, completed = r.placed_at, r.paid_at, r.completed_at
    placed_text = placed.isoformat(" ", "microseconds")[:26] if placed.tzinfo is UTC else None
    paid_text = paid.isoformat(" ", "microseconds")[:26] if paid and paid.tzinfo is UTC else None
    completed_text = (
        completed.isoformat(" ", "microseconds")[:26]
        if completed and completed.tzinfo is UTC
        else None
    )
    return PreparedOrder(
        r.line,
        r.platform,
        r.platform_order_id,
        r.identities,
        r.profile,
        (
            r.platform,
            r.shop,
            r.platform_order_id,
            r.status,
            r.currency,
            r.total_amount,
            r.paid_amount,
            r.refunded_amount or 0,
            r.shipping_fee,
            r.discount_amount,
            placed_text or utc_text(placed),
            paid_text or utc_text(paid),
            completed_text or utc_text(completed),
            r.coupon_code,
            r.receiver_name,
            r.receiver_province,
            r.receiver_city,
        ),
        tuple((li.title, li.sku, li.quantity, li.unit_price, li.amount) for li in r.lines),
        r.refunded_amount is not None,
        r.items_only,
    )


def to_wire(orders: list[PreparedOrder]) -> bytes:
    return marshal.dumps([tuple(order) for order in orders])


def from_wire(data: bytes) -> list[PreparedOrder]:
    # tuple.__new__ skips the generated __new__ and its argument handling: 5,000 a chunk.
    make = tuple.__new__
    return [make(PreparedOrder, fields) for fields in marshal.loads(data)]
