"""The floor an import is measured against: the same rows, already parsed, inserted with a bare
`executemany` into the same tables (same schema, indexes, triggers and pragmas), with no
detection, no identity resolution and no rollups to compute, because the answers are handed in.
Contacts go in statements of many rows, as the importer writes them (see siyu.db.bulk)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from pathlib import Path

from siyu.contacts.models import Contact, ContactIdentity, ContactOrder, ContactOrderLine
from siyu.db.bulk import INDEXED_ROWS_PER_STATEMENT
from siyu.db.session import SQLITE_PRAGMAS
from siyu.demo.model import DemoOrder
from siyu.kit.timeutil import as_utc

CHUNK = 5000
PURCHASES = ("paid", "shipped", "completed", "refunded")


def stamp(value: datetime | None) -> str | None:
    """A naive Shanghai time as SQLAlchemy stores a UTC datetime in SQLite."""
    if value is None:
        return None
    return as_utc(value).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    # The pragmas Siyu's engine sets on every SQLite connection.
    for pragma in SQLITE_PRAGMAS:
        connection.execute(f"PRAGMA {pragma}")
    return connection


def _insert_sql(table: object, columns: tuple[str, ...], rows: int = 1) -> str:
    names = ", ".join(columns)
    marks = ", ".join(["(" + ", ".join("?" for _ in columns) + ")"] * rows)
    return f"INSERT INTO {table.name} ({names}) VALUES {marks}"  # type: ignore[attr-defined]


CONTACT_COLUMNS = (
    "id",
    "name",
    "phone_hint",
    "city",
    "province",
    "source",
    "traits",
    "created_at",
    "updated_at",
    "order_count",
    "total_spent",
    "refunded_amount",
    "average_order_value",
    "first_order_at",
    "last_order_at",
    "platforms",
)
IDENTITY_COLUMNS = ("contact_id", "kind", "value", "source", "created_at")
ORDER_COLUMNS = (
    "id",
    "contact_id",
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
    "import_batch_id",
    "created_at",
    "updated_at",
)
LINE_COLUMNS = ("order_id", "line_no", "title", "sku", "quantity", "unit_price", "amount")


@dataclass
class _Person:
    id: int
    name: str
    province: str
    city: str
    hint: str | None = None
    phone: str | None = None
    count: int = 0
    paid: int = 0
    refunded: int = 0
    first: datetime | None = None
    last: datetime | None = None


@dataclass
class Prepared:
    """Every row of the four tables, as tuples; orders and lines streamed in chunks."""

    contacts: list[tuple[object, ...]]
    identities: list[tuple[object, ...]]
    chunks: Iterator[tuple[list[tuple[object, ...]], list[tuple[object, ...]]]]
    counts: dict[str, int] = field(default_factory=dict)


def _paid(order: DemoOrder) -> int:
    return 0 if order.status == "pending" else order.paid


def prepare(first_pass: Iterable[DemoOrder], second_pass: Iterable[DemoOrder]) -> Prepared:
    """Pre-parse: contacts with their final rollups (one pass), then order and line tuples."""
    now = stamp(datetime(2026, 11, 1))
    people: dict[str, _Person] = {}
    for order in first_pass:
        buyer = order.buyer
        nick = buyer.nick or ""
        person = people.get(nick)
        if person is None:
            person = people[nick] = _Person(
                len(people) + 1, buyer.receiver_name, buyer.province, buyer.city
            )
        phone = buyer.phone or ""
        if phone.isdigit():
            person.phone = person.phone or "+86" + phone
        else:
            person.hint = person.hint or phone
        if order.status in PURCHASES:
            person.count += 1
            person.paid += _paid(order)
            person.refunded += order.refunded
            person.first = min(person.first or order.placed_at, order.placed_at)
            person.last = max(person.last or order.placed_at, order.placed_at)
    contacts, identities = [], []
    for nick, p in people.items():
        spent = p.paid - p.refunded
        contacts.append(
            (
                p.id,
                p.name,
                p.hint,
                p.city,
                p.province,
                "taobao",
                "{}",
                now,
                now,
                p.count,
                spent,
                p.refunded,
                round(spent / p.count) if p.count else 0,
                stamp(p.first),
                stamp(p.last),
                "taobao" if p.count else "",
            )
        )
        identities.append((p.id, "taobao_nick", nick, "taobao", now))
        if p.phone:
            identities.append((p.id, "phone", p.phone, "taobao", now))
    ids = {nick: p.id for nick, p in people.items()}

    def chunks() -> Iterator[tuple[list[tuple[object, ...]], list[tuple[object, ...]]]]:
        orders: list[tuple[object, ...]] = []
        lines: list[tuple[object, ...]] = []
        for number, order in enumerate(second_pass, start=1):
            buyer = order.buyer
            orders.append(
                (
                    number,
                    ids[buyer.nick or ""],
                    "taobao",
                    order.shop,
                    order.order_id,
                    order.status,
                    "CNY",
                    order.total,
                    _paid(order),
                    order.refunded,
                    order.shipping_fee,
                    0,
                    stamp(order.placed_at),
                    stamp(order.paid_at),
                    stamp(order.completed_at),
                    None,
                    buyer.receiver_name,
                    buyer.province,
                    buyer.city,
                    None,
                    now,
                    now,
                )
            )
            title = "，".join(line.title for line in order.lines)
            lines.append(
                (number, 1, title, None, order.quantity, None, order.goods - order.discount)
            )
            if len(orders) >= CHUNK:
                yield orders, lines
                orders, lines = [], []
        if orders:
            yield orders, lines

    return Prepared(contacts, identities, chunks())


def insert(database: Path, prepared: Prepared) -> dict[str, float | int]:
    """Insert everything in one transaction; only the executemany calls and the commit count."""
    connection = connect(database)
    identity_sql = _insert_sql(ContactIdentity.__table__, IDENTITY_COLUMNS)
    order_sql = _insert_sql(ContactOrder.__table__, ORDER_COLUMNS)
    line_sql = _insert_sql(ContactOrderLine.__table__, LINE_COLUMNS)
    seconds = 0.0
    orders = lines = 0
    connection.execute("BEGIN")
    started = time.perf_counter()
    # Contacts as the importer writes them, many to a statement: each statement that fires the
    # name index's triggers makes FTS5 write out its buffer (siyu.db.bulk).
    for first in range(0, len(prepared.contacts), INDEXED_ROWS_PER_STATEMENT):
        chunk = prepared.contacts[first : first + INDEXED_ROWS_PER_STATEMENT]
        connection.execute(
            _insert_sql(Contact.__table__, CONTACT_COLUMNS, len(chunk)),
            tuple(chain.from_iterable(chunk)),
        )
    connection.executemany(identity_sql, prepared.identities)
    seconds += time.perf_counter() - started
    for order_rows, line_rows in prepared.chunks:
        started = time.perf_counter()
        connection.executemany(order_sql, order_rows)
        connection.executemany(line_sql, line_rows)
        seconds += time.perf_counter() - started
        orders += len(order_rows)
        lines += len(line_rows)
    started = time.perf_counter()
    connection.execute("COMMIT")
    seconds += time.perf_counter() - started
    connection.close()
    return {
        "seconds": seconds,
        "contacts": len(prepared.contacts),
        "identities": len(prepared.identities),
        "orders": orders,
        "lines": lines,
    }
