"""Small SQL helpers that differ by database."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session


def one_of(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN (values)` for large batches, as one parameter.

    On PostgreSQL the values travel as one array and are joined (`IN (SELECT unnest(…))`): a
    plain IN list of thousands becomes `= ANY(…)`, which a table without statistics yet (one
    being imported into) answers by comparing every row with every value.
    """
    if session.get_bind().dialect.name == "postgresql":
        array = bindparam(None, list(values), type_=ARRAY(column.type))
        return column.in_(select(func.unnest(array)))
    # SQLite: one JSON parameter read by json_each, so the statement compiles once instead of
    # once per batch with thousands of placeholders.
    each = func.json_each(bindparam(None, json.dumps(list(values)))).table_valued("value")
    return column.in_(select(each.c.value))


class Statistics:
    """Keeps PostgreSQL's planner statistics in step with a large import.

    Tables filled inside one long transaction are never analysed by autovacuum before it
    commits, so the planner believes them empty and picks plans that crawl. ANALYZE counts the
    transaction's own new rows; running it each time the import has grown fourfold costs little.
    """

    TABLES = ("contact", "contact_identity", "contact_order", "contact_order_line")

    def __init__(self, session: Session, first_at: int = 5000) -> None:
        self.session = session
        self.next_at = first_at
        self.enabled = session.get_bind().dialect.name == "postgresql"

    def grown(self, rows_written: int) -> None:
        if not self.enabled or rows_written < self.next_at:
            return
        self.next_at = rows_written * 4
        for table in self.TABLES:
            self.session.execute(text(f"ANALYZE {table}"))
