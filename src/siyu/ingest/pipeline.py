"""Applying parsed records to the pool, a chunk at a time, with set-based SQL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.contacts.consent import record_consents
from siyu.contacts.identity import Claim, ImportMemory, resolve
from siyu.contacts.models import Contact, ContactNote, ContactOrder, ContactOrderLine
from siyu.contacts.tags import ensure_tags, link_tags
from siyu.db.bulk import from_utc_text, insert_rows, insert_tuples, time_storage, update_rows
from siyu.db.ids import allocate_ids
from siyu.db.sql import one_of
from siyu.db.types import utcnow
from siyu.ingest.prepared import (
    LINE_COLUMNS,
    POSITION,
    TIME_POSITIONS,
    VALUE_COLUMNS,
    PreparedOrder,
    prepare_orders,
)
from siyu.ingest.records import ContactRecord, OrderRecord
from siyu.kit.chunks import chunked
from siyu.staff.models import StaffUser

# Order fields a newer export of the same order may change.
UPDATABLE = (
    "status",
    "total_amount",
    "paid_amount",
    "refunded_amount",
    "shipping_fee",
    "discount_amount",
    "paid_at",
    "completed_at",
    "coupon_code",
)
# What an item-level report may change on an order it did not create.
REFUND_FIELDS = ("status", "refunded_amount")
_TERMINAL = ("cancelled", "refunded")


@dataclass
class Counts:
    orders_created: int = 0
    orders_updated: int = 0
    contacts_created: int = 0
    contacts_updated: int = 0
    contacts_merged: int = 0
    # Contacts whose orders changed: their rollups are recomputed once, when the import ends.
    touched: set[int] = field(default_factory=set, repr=False, compare=False)

    def add(self, other: Counts) -> None:
        for f in fields(self):
            if f.name == "touched":
                self.touched |= other.touched
            else:
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "touched"}


def combine_rows(
    first: OrderRecord, more: OrderRecord, line_amounts: Literal["sum", "first"]
) -> None:
    """Fold another row of the same order (one row per item) into the first."""
    first.lines.extend(more.lines)
    if line_amounts == "sum":
        first.total_amount += more.total_amount
        first.paid_amount += more.paid_amount
        first.discount_amount += more.discount_amount
        if more.refunded_amount is not None:
            first.refunded_amount = (first.refunded_amount or 0) + more.refunded_amount
    # An order is refunded or cancelled only when every item is.
    if first.status in _TERMINAL and more.status not in _TERMINAL:
        first.status = more.status
    for identity in more.identities:
        if identity not in first.identities:
            first.identities.append(identity)


def apply_orders(
    session: Session,
    records: list[OrderRecord],
    *,
    batch_id: int | None,
    actor: str,
    source: str,
    memory: ImportMemory | None = None,
) -> Counts:
    return apply_prepared(
        session,
        prepare_orders(records),
        batch_id=batch_id,
        actor=actor,
        source=source,
        memory=memory,
    )


def apply_prepared(
    session: Session,
    orders: list[PreparedOrder],
    *,
    batch_id: int | None,
    actor: str,
    source: str,
    memory: ImportMemory | None = None,
) -> Counts:
    counts = Counts()
    table = ContactOrder.__table__
    existing = _known_orders(session, orders)
    knowns = [existing.get((order.platform, order.platform_order_id)) for order in orders]
    claims = [
        Claim(
            order.identities,
            order.profile,
            known_contact_id=known.contact_id if known else None,
            source=order.platform,
        )
        for order, known in zip(orders, knowns, strict=True)
    ]
    resolution = resolve(
        session,
        claims,
        source=source,
        actor=actor,
        reason=f"same buyer in {source} import",
        memory=memory,
        refresh_stages=False,
    )
    counts.contacts_created = resolution.created
    counts.contacts_merged = resolution.merged

    touched: set[int] = set()
    new_rows, new_lines, changes = [], [], []
    line_updates: dict[int, PreparedOrder] = {}
    now = utcnow()
    stored_now = time_storage(session)(now)
    stored = _values_storage(session)
    # Ids first, so that each new row is built once, as the driver takes it.
    new_ids = iter(allocate_ids(session, table, knowns.count(None)))
    for order, contact_id, known in zip(orders, resolution.contact_ids, knowns, strict=True):
        if known is None:
            values = order.values if stored is None else stored(order.values)
            new_rows.append((next(new_ids), contact_id, *values, batch_id, stored_now, stored_now))
            new_lines.append((new_rows[-1][0], order.lines))
            touched.add(contact_id)
            continue
        change = _changes(known, order)
        if change:
            changes.append({**change, "id": known.id})
            # The resolved contact: the stored one may just have been merged into it.
            touched.add(contact_id)
        if order.lines:
            line_updates[known.id] = order
    if new_rows:
        insert_tuples(session, table, ORDER_COLUMNS, new_rows)
        _insert_lines(session, new_lines)
        counts.orders_created = len(new_rows)
    for group in _group_by_keys(changes).values():
        update_rows(session, table, [{**change, "updated_at": now} for change in group])
    relined = _replace_lines(session, line_updates)
    counts.orders_updated = len({c["id"] for c in changes} | relined)
    counts.touched = touched
    return counts


def _known_orders(session: Session, orders: list[PreparedOrder]) -> dict[tuple[str, str], Any]:
    """The stored orders among these, with what a newer export may change."""
    table = ContactOrder.__table__
    existing: dict[tuple[str, str], Any] = {}
    by_platform: dict[str, list[str]] = defaultdict(list)
    for order in orders:
        by_platform[order.platform].append(order.platform_order_id)
    for platform, ids in by_platform.items():
        for batch in chunked(ids, 2000):
            rows = session.execute(
                select(
                    table.c.id,
                    table.c.platform_order_id,
                    table.c.contact_id,
                    *(table.c[name] for name in UPDATABLE),
                ).where(
                    table.c.platform == platform,
                    one_of(session, table.c.platform_order_id, batch),
                )
            ).all()
            existing.update(((platform, row.platform_order_id), row) for row in rows)
    return existing


def _values_storage(session: Session) -> Callable[[tuple[Any, ...]], tuple[Any, ...]] | None:
    """Prepared values as this database takes them; None: as they are (SQLite stores the UTC
    text)."""
    if session.get_bind().dialect.name == "sqlite":
        return None

    def with_datetimes(values: tuple[Any, ...]) -> tuple[Any, ...]:
        converted = list(values)
        for position in TIME_POSITIONS:
            converted[position] = from_utc_text(converted[position])
        return tuple(converted)

    return with_datetimes


def _insert_lines(session: Session, orders: Any) -> None:
    insert_tuples(
        session,
        ContactOrderLine.__table__,
        ("order_id", "line_no", *LINE_COLUMNS),
        [
            (order_id, number, *line)
            for order_id, lines in orders
            for number, line in enumerate(lines, start=1)
        ],
    )


def _replace_lines(session: Session, updates: dict[int, PreparedOrder]) -> set[int]:
    """Lines for known orders: filled in when an order has none, and replaced by an item-level
    report's when they differ. Returns the orders whose lines changed."""
    if not updates:
        return set()
    table = ContactOrderLine.__table__
    current: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for batch in chunked(sorted(updates), 2000):
        for line in session.execute(
            select(table.c.order_id, table.c.title, table.c.quantity, table.c.unit_price)
            .where(table.c.order_id.in_(batch))
            .order_by(table.c.order_id, table.c.line_no)
        ):
            current[line.order_id].append((line.title, line.quantity, line.unit_price))
    changed = {
        order_id
        for order_id, order in updates.items()
        if not current.get(order_id)
        or (order.items_only and current[order_id] != [(t, q, p) for t, _, q, p, _ in order.lines])
    }
    if changed:
        for batch in chunked(sorted(changed), 2000):
            session.execute(table.delete().where(table.c.order_id.in_(batch)))
        _insert_lines(
            session, ((order_id, updates[order_id].lines) for order_id in sorted(changed))
        )
    return changed


# Column order of the rows apply_prepared inserts.
ORDER_COLUMNS = (
    "id",
    "contact_id",
    *VALUE_COLUMNS,
    "import_batch_id",
    "created_at",
    "updated_at",
)
_TIMES = frozenset(("placed_at", "paid_at", "completed_at"))


def _changes(known: Any, order: PreparedOrder) -> dict[str, Any]:
    change = {}
    for key in REFUND_FIELDS if order.items_only else UPDATABLE:
        if key == "refunded_amount" and not order.refund_known:
            continue
        new = order.values[POSITION[key]]
        # A file that says nothing (None) about a field leaves what we know alone.
        if new is None:
            continue
        if key in _TIMES:
            new = from_utc_text(new)
        if new != getattr(known, key):
            change[key] = new
    return change


def _group_by_keys(changes: list[dict[str, Any]]) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for change in changes:
        groups[tuple(sorted(change))].append(change)
    return groups


def owner_ids(session: Session, logins: set[str]) -> dict[str, int]:
    if not logins:
        return {}
    rows = session.execute(
        select(StaffUser.login, StaffUser.id).where(StaffUser.login.in_(sorted(logins)))
    )
    return dict(rows.all())


def apply_contacts(
    session: Session,
    records: list[ContactRecord],
    owners: dict[str, int],
    *,
    actor: str,
    source: str,
) -> Counts:
    counts = Counts()
    resolution = resolve(
        session,
        [Claim(r.identities, r.profile) for r in records],
        source=source,
        actor=actor,
        reason=f"same person in {source} import",
    )
    counts.contacts_created = resolution.created
    counts.contacts_merged = resolution.merged
    tag_ids = ensure_tags(session, {tag for r in records for tag in r.tags})
    links = [
        (cid, tag_ids[tag])
        for r, cid in zip(records, resolution.contact_ids, strict=True)
        for tag in r.tags
    ]
    updated: set[int] = set()
    if link_tags(session, links, source="import", actor=actor):
        updated.update(cid for cid, _ in links)
    pairs = list(zip(records, resolution.contact_ids, strict=True))
    updated |= record_consents(
        session,
        [(cid, consent) for r, cid in pairs for consent in r.consents],
        source=source,
        actor=actor,
    )
    updated |= _apply_owners_and_traits(session, pairs, owners)
    updated |= _add_notes(session, [(cid, r.note) for r, cid in pairs if r.note], actor)
    counts.contacts_updated = len(updated)
    return counts


def _apply_owners_and_traits(
    session: Session, pairs: list[tuple[ContactRecord, int]], owners: dict[str, int]
) -> set[int]:
    """Owner and traits from the file, written only where they change something."""
    wanted = [(r, cid) for r, cid in pairs if r.owner_login or r.traits]
    if not wanted:
        return set()
    table = Contact.__table__
    current: dict[int, Any] = {}
    for batch in chunked(sorted({cid for _, cid in wanted}), 2000):
        for row in session.execute(
            select(table.c.id, table.c.owner_id, table.c.traits).where(
                one_of(session, table.c.id, batch)
            )
        ):
            current[row.id] = {"owner_id": row.owner_id, "traits": row.traits or {}}
    before = {cid: dict(state) for cid, state in current.items()}
    for record, contact_id in wanted:
        state = current[contact_id]
        if record.owner_login:
            state["owner_id"] = owners[record.owner_login]
        if record.traits:
            state["traits"] = {**state["traits"], **record.traits}
    changed = {cid for cid, state in current.items() if state != before[cid]}
    update_rows(session, table, [{**current[cid], "id": cid} for cid in sorted(changed)])
    return changed


def _add_notes(session: Session, notes: list[tuple[int, str]], actor: str) -> set[int]:
    """Notes from the file, each added once however often the file is imported."""
    if not notes:
        return set()
    table = ContactNote.__table__
    present: set[tuple[int, str]] = set()
    for batch in chunked(sorted({cid for cid, _ in notes}), 2000):
        present.update(
            (row.contact_id, row.body)
            for row in session.execute(
                select(table.c.contact_id, table.c.body).where(
                    one_of(session, table.c.contact_id, batch)
                )
            )
        )
    new = sorted(set(notes) - present)
    now = utcnow()
    insert_rows(
        session,
        table,
        [
            {"contact_id": cid, "body": body, "author": actor, "created_at": now}
            for cid, body in new
        ],
    )
    return {cid for cid, _ in new}
