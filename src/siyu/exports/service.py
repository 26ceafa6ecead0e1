"""Planning and reading an export: who may export what, which rows, read in chunks.

    plan = plan_export(session, actor=actor, table="contact_order", fmt="parquet", since=...)
    rows = write(session, actor=actor, plan=plan, out=handle)   # writes, then audits

Rows are read by one statement ordered by the primary key (a stable, index-ordered walk) with a
server-side cursor (`yield_per`): PostgreSQL sends CHUNK rows at a time, SQLite steps through
its B-tree, and no more than one chunk is held in memory. Services never commit; the command
or the request that calls them commits the audit row.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from sqlalchemy import ColumnElement, Select, func, literal, select
from sqlalchemy.orm import Session

from siyu.audit.service import record
from siyu.config import get_settings
from siyu.contacts.models import Contact
from siyu.errors import Forbidden, Invalid, NotFound
from siyu.exports import formats
from siyu.exports.registry import ExportTable, registry
from siyu.kit.actor import Actor
from siyu.kit.timeutil import parse_time
from siyu.segments.models import Segment
from siyu.segments.service import get_segment, member_ids
from siyu.staff.permissions import allow, owns_only

# Rows per chunk read: a block of CSV, a round trip to PostgreSQL. Measured on the contact table,
# a row costs some kilobytes as Python objects (aware datetimes, parsed JSON) while it is
# converted: 20,000-row chunks took the export's peak RSS past 450 MB, 2,000-row chunks keep it
# near the interpreter's own, at the same speed. Parquet gathers chunks into larger row groups.
CHUNK = 2_000


@dataclass
class Plan:
    table: ExportTable
    format: formats.Format
    statement: Select[Any]
    # What the audit row and the file name say about the filters.
    filters: dict[str, str] = field(default_factory=dict)

    @property
    def filename(self) -> str:
        return f"{self.table.name}.{self.format.suffix}"


# --- permissions ---------------------------------------------------------------------------


def check_table(actor: Actor, table: ExportTable) -> None:
    allow(actor, "export")
    if table.action != "read":
        allow(actor, table.action)
    if owns_only(actor) and not table.contact_linked:
        raise Forbidden(
            f"staff members export their own customers' data only; {table.name} is not "
            "kept per customer"
        )


def may_export(actor: Actor, table: ExportTable) -> bool:
    try:
        check_table(actor, table)
    except Forbidden:
        return False
    return True


def get_table(name: str) -> ExportTable:
    tables = registry()
    found = tables.get((name or "").strip())
    if found is None:
        close = difflib.get_close_matches(name, list(tables), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "; `siyu export list` shows them"
        raise NotFound(f"no table {name!r} to export{hint}")
    return found


# --- input -------------------------------------------------------------------------------


def parse_bound(text: str | datetime | None, name: str) -> datetime | None:
    """A --since/--until value: a date or time, read in SIYU_TIMEZONE unless it has a zone."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    try:
        return parse_time(text)
    except ValueError:
        raise Invalid(
            f"{name} {text!r} is not a date or time like 2024-03-01 or 2024-03-01T09:30"
        ) from None


# --- the statement -------------------------------------------------------------------------


def _currency(table: ExportTable) -> ColumnElement[Any]:
    merchant = literal(get_settings().currency)
    if table.currency_via is None:
        # Rollups (contact.total_spent, RFM) are kept in the merchant's currency.
        return merchant
    source = table.table.c[table.currency_via]
    (key,) = source.foreign_keys
    parent = key.column.table
    found = select(parent.c.currency).where(key.column == source).scalar_subquery()
    return func.coalesce(found, merchant)


def _selected(table: ExportTable) -> list[ColumnElement[Any]]:
    selected: list[ColumnElement[Any]] = []
    for column in table.columns:
        if column.name == "currency" and table.needs_currency:
            selected.append(_currency(table).label("currency"))
        else:
            selected.append(table.table.c[column.name])
    return selected


def _belongs_to(table: ExportTable, contact_ids: Select[Any]) -> ColumnElement[bool]:
    assert table.contact_column is not None
    column = table.table.c[table.contact_column]
    if table.contact_via is None:
        return column.in_(contact_ids)
    parent_name, parent_key, parent_contact = table.contact_via
    parent = table.table.metadata.tables[parent_name]
    return column.in_(select(parent.c[parent_key]).where(parent.c[parent_contact].in_(contact_ids)))


def _scoped(statement: Select[Any], table: ExportTable, actor: Actor) -> Select[Any]:
    """Staff (导购) export only rows of the customers they own."""
    if owns_only(actor):
        owned = select(Contact.id).where(Contact.owner_id == actor.staff_id)
        statement = statement.where(_belongs_to(table, owned))
    return statement


def plan_export(
    session: Session,
    *,
    actor: Actor,
    table: str,
    fmt: str = "csv",
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    segment: str | None = None,
) -> Plan:
    """Check the request and build its statement; nothing is read yet.

    `since` is inclusive and `until` exclusive, on the table's time column (placed_at for
    orders, created_at for most tables). `segment` keeps the rows of its current members.
    """
    chosen = get_table(table)
    check_table(actor, chosen)
    output = formats.get_format(fmt)
    start, end = parse_bound(since, "--since"), parse_bound(until, "--until")
    statement = select(*_selected(chosen)).order_by(*chosen.table.primary_key.columns)
    filters: dict[str, str] = {}
    if start or end:
        if chosen.time_column is None:
            raise Invalid(f"{chosen.name} has no time column to filter by date")
        when = chosen.table.c[chosen.time_column]
        if start and end and end <= start:
            raise Invalid("--until must be after --since")
        if start:
            statement = statement.where(when >= start)
            filters["since"] = formats.text_time(start) or ""
        if end:
            statement = statement.where(when < end)
            filters["until"] = formats.text_time(end) or ""
    if segment:
        if not chosen.contact_linked:
            raise Invalid(f"{chosen.name} is not kept per customer: it has no segment to filter")
        found: Segment = get_segment(session, segment)
        statement = statement.where(_belongs_to(chosen, member_ids(found)))
        filters["segment"] = found.name
    return Plan(chosen, output, _scoped(statement, chosen, actor), filters)


# --- reading -------------------------------------------------------------------------------


def count(session: Session, plan: Plan) -> int:
    """How many rows the plan will read (for progress bars; the export counts what it wrote)."""
    inner = plan.statement.order_by(None).subquery()
    return int(session.scalar(select(func.count()).select_from(inner)) or 0)


def chunks(session: Session, plan: Plan, *, size: int = CHUNK) -> Iterator[list[Any]]:
    """The plan's rows, `size` at a time, in primary-key order."""
    result = session.execute(plan.statement.execution_options(yield_per=size))
    try:
        yield from result.partitions(size)
    finally:
        result.close()


def list_tables(session: Session, *, actor: Actor) -> list[dict[str, Any]]:
    """The tables `actor` may export, with their row counts (their own customers' for staff)."""
    allow(actor, "export")
    listed = []
    for table in registry().values():
        if not may_export(actor, table):
            continue
        statement = _scoped(select(func.count()).select_from(table.table), table, actor)
        listed.append(
            {
                "name": table.name,
                "rows": int(session.scalar(statement) or 0),
                "columns": table.column_names,
                "time_column": table.time_column,
                "per_contact": table.contact_linked,
            }
        )
    return listed


def record_export(
    session: Session, *, actor: Actor, plan: Plan, rows: int, complete: bool = True
) -> None:
    """The audit row: exporting is reading everything, so who took what is kept."""
    detail: dict[str, Any] = {"format": plan.format.name, "rows": rows, **plan.filters}
    if not complete:
        detail["complete"] = False
    record(
        session,
        actor=actor.label,
        action="export.table",
        subject_type="table",
        subject_id=plan.table.name,
        **detail,
    )


class _Counted:
    """Chunks passed through, counted, so the audit row says how many rows really left."""

    def __init__(self, source: Iterator[list[Any]], on_chunk: Callable[[int], None] | None):
        self.source, self.on_chunk, self.rows = source, on_chunk, 0

    def __iter__(self) -> Iterator[list[Any]]:
        for rows in self.source:
            self.rows += len(rows)
            if self.on_chunk:
                self.on_chunk(len(rows))
            yield rows


def encoded(plan: Plan, source: Iterator[list[Any]], *, bom: bool = False) -> Iterator[bytes]:
    """CSV or JSON Lines bytes of the chunks (Parquet is written by write_parquet)."""
    names = plan.table.column_names
    if plan.format.name == "csv":
        converters = formats.text_converters(plan.table.columns)
        return formats.csv_bytes(names, source, converters=converters, bom=bom)
    if plan.format.name == "jsonl":
        return formats.jsonl_bytes(names, source)
    raise Invalid(f"{plan.format.label} is written to a file, not streamed")


def write(
    session: Session,
    *,
    actor: Actor,
    plan: Plan,
    out: IO[bytes],
    bom: bool = False,
    on_chunk: Callable[[int], None] | None = None,
) -> int:
    """Write the whole export to a binary file, record it in the audit log, return its rows."""
    counted = _Counted(chunks(session, plan), on_chunk)
    complete = False
    try:
        if plan.format.name == "parquet":
            formats.write_parquet(plan.table.columns, counted, out)
        else:
            for block in encoded(plan, iter(counted), bom=bom):
                out.write(block)
        complete = True
    finally:
        # Also when the reader went away (a closed pipe): what left is on record.
        record_export(session, actor=actor, plan=plan, rows=counted.rows, complete=complete)
    return counted.rows


def stream(session: Session, *, actor: Actor, plan: Plan, bom: bool = False) -> Iterator[bytes]:
    """CSV or JSON Lines as bytes while the rows are read; the audit row is added at the end,
    or with complete=false when the reader went away part way, for the caller to commit."""
    counted = _Counted(chunks(session, plan), None)
    complete = False
    try:
        yield from encoded(plan, iter(counted), bom=bom)
        complete = True
    finally:
        record_export(session, actor=actor, plan=plan, rows=counted.rows, complete=complete)
