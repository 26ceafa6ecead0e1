"""Bulk writes straight to the driver's executemany, for the import hot path.

SQLAlchemy's per-row parameter processing costs more than the database's own work when an
import writes hundreds of thousands of rows; here each column's conversion is resolved once per
statement and rows go to the driver as plain tuples. Values must be what the columns hold:
aware datetimes for UTCDateTime columns, dicts for JSON columns.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from itertools import chain
from typing import Any

from sqlalchemy import JSON, Connection, Table
from sqlalchemy.orm import Session

from siyu.db.types import UTCDateTime

Convert = Callable[[Any], Any] | None


def utc_text(value: datetime | None) -> str | None:
    """A time as SQLite stores it: UTC, 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    # SQLAlchemy's own SQLite format, always with microseconds: stored text must match it
    # exactly, or comparisons with times the ORM wrote go wrong. isoformat and a slice cut
    # "+00:00" off; far cheaper than strftime on a million rows.
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


def from_utc_text(text: str | None) -> datetime | None:
    """The aware time `utc_text` wrote."""
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


def _sqlite_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _converter(connection: Connection, column_type: Any) -> Convert:
    sqlite = connection.dialect.name == "sqlite"
    if isinstance(column_type, UTCDateTime):
        return utc_text if sqlite else None
    if isinstance(column_type, JSON):
        if sqlite:
            return _sqlite_json
        from psycopg.types.json import Jsonb

        return lambda value: None if value is None else Jsonb(value)
    return None


def _prepare(
    connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    # Column by column, then zipped: far fewer Python-level steps than row by row.
    values = []
    for name in columns:
        column = [row[name] for row in rows]
        convert = _converter(connection, table.c[name].type)
        values.append(list(map(convert, column)) if convert else column)
    return list(zip(*values, strict=True))


def _placeholder(connection: Connection) -> str:
    return "?" if connection.dialect.paramstyle == "qmark" else "%s"


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    connection = session.connection()
    columns = list(rows[0])
    quote = connection.dialect.identifier_preparer.quote
    mark = _placeholder(connection)
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    connection.exec_driver_sql(sql, _prepare(connection, table, columns, rows))


def update_rows(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], key: str = "id", where: str = ""
) -> None:
    """UPDATE … SET <every other key> WHERE <key> = … for each row (all rows share keys)."""
    if not rows:
        return
    connection = session.connection()
    columns = [c for c in rows[0] if c != key]
    quote = connection.dialect.identifier_preparer.quote
    mark = _placeholder(connection)
    assignments = ", ".join(f"{quote(c)} = {mark}" for c in columns)
    sql = f"UPDATE {quote(table.name)} SET {assignments} WHERE {quote(key)} = {mark}{where}"
    connection.exec_driver_sql(sql, _prepare(connection, table, [*columns, key], rows))


def time_storage(session: Session) -> Callable[[datetime | None], Any]:
    """How this database stores a UTC time; hot paths convert while building their rows."""
    if session.get_bind().dialect.name == "sqlite":
        return utc_text
    return lambda value: value


# Rows per INSERT for a table whose triggers write to an FTS5 index (contact, migration 0007):
# FTS5 writes out what it has buffered whenever a statement that fires such a trigger starts,
# so one row per statement costs a segment of the index per row; 500 rows share one.
INDEXED_ROWS_PER_STATEMENT = 500


def insert_tuples(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    rows_per_statement: int = 1,
) -> None:
    """Rows already in storage form (times through `time_storage`, no JSON columns)."""
    if not rows:
        return
    connection = session.connection()
    quote = connection.dialect.identifier_preparer.quote
    mark = _placeholder(connection)
    head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) VALUES "
    one = f"({', '.join([mark] * len(columns))})"
    if rows_per_statement == 1:
        connection.exec_driver_sql(head + one, list(rows))
        return
    for start in range(0, len(rows), rows_per_statement):
        chunk = rows[start : start + rows_per_statement]
        connection.exec_driver_sql(
            head + ", ".join([one] * len(chunk)), tuple(chain.from_iterable(chunk))
        )
