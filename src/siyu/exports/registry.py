"""The exportable tables, derived from the schema: a table added later is exportable at once.

Names are the tables' own (`contact`, `contact_order`, `engage_message` …): they are already
singular and prefixed by domain, and a merchant's data people will find them in the database too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Integer, Numeric, Table
from sqlalchemy.sql.schema import Column as SqlColumn
from sqlalchemy.types import TypeDecorator, TypeEngine

# Columns never exported, and why. Keep this list next to any new column that holds a secret.
EXCLUDED_COLUMNS: dict[tuple[str, str], str] = {
    # An Argon2 hash is still something to guess passwords against offline.
    ("staff_user", "password_hash"): "password hash",
    # SHA-256 of an API key: a fast hash of a key lets anyone holding it test guesses at speed,
    # and nobody outside the server has a use for it.
    ("staff_api_key", "secret_hash"): "API key hash",
    # The same for event sources' write keys.
    ("event_source", "secret_hash"): "write key hash",
    # Built-in channels name environment variables for their secrets, but a plugin channel's
    # configuration is its own schema and may hold a password or token outright.
    ("engage_channel", "config"): "channel configuration (may hold provider credentials)",
}
# Tables never exported, and why: none today. The schema's own bookkeeping is not in metadata.
EXCLUDED_TABLES: dict[str, str] = {}

# Tables only some roles may export (siyu.staff.permissions), beyond "export" for every table:
# the audit log is for those who may read it, staff accounts and keys for those who manage them.
TABLE_ACTIONS = {
    "audit_event": "audit",
    "staff_user": "manage",
    "staff_api_key": "manage",
    "event_source": "manage",
}

# The column --since/--until filter on: when the row's fact happened, else when it was written.
TIME_COLUMNS = (
    "placed_at",
    "occurred_at",
    "timestamp",
    "submitted_at",
    "clicked_at",
    "scanned_at",
    "recorded_at",
    "changed_at",
    "merged_at",
    "entered_at",
    "added_at",
    "started_at",
    "created_at",
)
# Integer columns holding money (fen): exported as int64 with a currency column alongside.
MONEY = re.compile(r"(^|_)(amount|spent|price|fee|value|monetary)$")


@dataclass(frozen=True)
class Column:
    name: str
    # int, float, text, bool, time (UTC-aware datetime), date, json
    kind: str
    money: bool = False


@dataclass(frozen=True)
class ExportTable:
    name: str
    table: Table
    columns: tuple[Column, ...]
    # Where the money's currency comes from when the table has no currency column of its own:
    # a parent table reached by this foreign key column, or None for the merchant's currency.
    currency_via: str | None
    needs_currency: bool
    time_column: str | None
    # How a row belongs to a contact: a column holding the contact id, or a foreign key column
    # to a parent table that holds it (contact_order_line.order_id → contact_order.contact_id).
    contact_column: str | None
    contact_via: tuple[str, str, str] | None  # (parent table, parent key, parent contact column)
    action: str

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def contact_linked(self) -> bool:
        return self.contact_column is not None


def kind_of(sql_type: TypeEngine[object]) -> str:
    if isinstance(sql_type, TypeDecorator):
        if isinstance(sql_type.impl, DateTime):
            return "time"
        sql_type = sql_type.impl
    if isinstance(sql_type, Boolean):
        return "bool"
    if isinstance(sql_type, Integer):
        return "int"
    if isinstance(sql_type, Float | Numeric):
        return "float"
    if isinstance(sql_type, DateTime):
        return "time"
    if isinstance(sql_type, Date):
        return "date"
    if isinstance(sql_type, JSON):
        return "json"
    return "text"


def _column(column: SqlColumn[object]) -> Column:
    kind = kind_of(column.type)
    money = kind == "int" and not column.foreign_keys and bool(MONEY.search(column.name))
    return Column(column.name, kind, money)


def _contact_column(table: Table) -> str | None:
    if table.name == "contact":
        return "id"
    return "contact_id" if "contact_id" in table.c else None


def _parent_link(table: Table) -> tuple[str, tuple[str, str, str]] | None:
    """A foreign key to a table whose rows name a contact (one hop is enough for the schema)."""
    for column in table.columns:
        for key in column.foreign_keys:
            parent = key.column.table
            if parent.name != "contact" and "contact_id" in parent.c:
                return column.name, (parent.name, key.column.name, "contact_id")
    return None


def _currency_via(table: Table) -> str | None:
    for column in table.columns:
        for key in column.foreign_keys:
            if "currency" in key.column.table.c:
                return column.name
    return None


def describe(table: Table) -> ExportTable:
    # The key first (mixins put `id` last in the table), then the table's own order.
    ordered = [*table.primary_key.columns] + [c for c in table.columns if not c.primary_key]
    columns = tuple(
        _column(column) for column in ordered if (table.name, column.name) not in EXCLUDED_COLUMNS
    )
    has_money = any(column.money for column in columns)
    needs_currency = has_money and "currency" not in table.c
    if needs_currency:
        # Beside the last amount, so a reader sees the unit next to the figures.
        last = max(i for i, column in enumerate(columns) if column.money)
        columns = (*columns[: last + 1], Column("currency", "text"), *columns[last + 1 :])
    contact_column, contact_via = _contact_column(table), None
    if contact_column is None and (link := _parent_link(table)):
        contact_column, contact_via = link
    return ExportTable(
        name=table.name,
        table=table,
        columns=columns,
        currency_via=_currency_via(table) if needs_currency else None,
        needs_currency=needs_currency,
        time_column=next((name for name in TIME_COLUMNS if name in table.c), None),
        contact_column=contact_column,
        contact_via=contact_via,
        action=TABLE_ACTIONS.get(table.name, "read"),
    )


@lru_cache(maxsize=1)
def registry() -> dict[str, ExportTable]:
    """Every exportable table by name, in name order."""
    from siyu.db.models import Base  # imports every model, so the metadata is complete

    return {
        name: describe(table)
        for name, table in sorted(Base.metadata.tables.items())
        if name not in EXCLUDED_TABLES
    }
