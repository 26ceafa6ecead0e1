"""From table rows to chunks of records: parse, check, fold the rows of one order together.

The same generator runs in the importing process for small files and in a parsing process of
its own for large ones (see `background.py`), so both paths see exactly the same records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import cast

from siyu.errors import SiyuError
from siyu.ingest.formats.base import ImportFormat
from siyu.ingest.pipeline import combine_rows
from siyu.ingest.prepared import PreparedOrder, prepare_orders
from siyu.ingest.reader import Table
from siyu.ingest.records import OrderRecord, Record, RowError, fit

CHUNK_ROWS = 5000


@dataclass
class Rejected:
    line: int
    reason: str
    cells: list[str]


@dataclass
class Chunk:
    records: list[Record]  # contact records; orders move to `orders` once the chunk is full
    rejected: list[Rejected] = field(default_factory=list)
    rows_read: int = 0  # rows of the file behind this chunk, rejected ones included
    orders: list[PreparedOrder] = field(default_factory=list)

    def prepared(self) -> Chunk:
        if self.records and isinstance(self.records[0], OrderRecord):
            self.orders = prepare_orders(cast(list[OrderRecord], self.records))
            self.records = []
        return self


def parse_chunks(
    table: Table, importer: ImportFormat, chunk_rows: int | None = None
) -> Iterator[Chunk]:
    """Chunks of about `chunk_rows` records, never splitting the consecutive rows of one order."""
    chunk_rows = chunk_rows or CHUNK_ROWS
    chunk = Chunk([])
    last: OrderRecord | None = None
    parse, row, line_amounts = importer.parse, importer.row, importer.line_amounts
    try:
        for line, cells in table.rows:
            chunk.rows_read += 1
            try:
                record = fit(parse(row(line, cells)))
            except (RowError, SiyuError, ValueError, ArithmeticError) as error:
                reason = error.message if isinstance(error, SiyuError) else str(error)
                chunk.rejected.append(Rejected(line, reason, cells))
                continue
            if isinstance(record, OrderRecord):
                if last is not None and (
                    last.platform_order_id == record.platform_order_id
                    and last.platform == record.platform
                ):
                    combine_rows(last, record, line_amounts)
                    continue
                last = record
            if len(chunk.records) >= chunk_rows:
                # The row just read starts the next chunk; it was counted in this one.
                chunk.rows_read -= 1
                yield chunk.prepared()
                chunk = Chunk([], rows_read=1)
            chunk.records.append(record)
    finally:
        table.close()
    if chunk.records or chunk.rejected or chunk.rows_read:
        yield chunk.prepared()
