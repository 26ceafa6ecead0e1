"""Writers: chunks of rows in, bytes (CSV, JSON Lines) or a Parquet file out.

Every writer takes the chunks the service reads (lists of row tuples, in the registry's column
order) and never holds more than one chunk, so memory stays flat whatever the table's size.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import IO, Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from siyu.errors import Invalid
from siyu.exports.registry import Column

Rows = Sequence[Sequence[Any]]
BOM = "\ufeff"


@dataclass(frozen=True)
class Format:
    name: str
    suffix: str
    media_type: str
    label: str


FORMATS = {
    "csv": Format("csv", "csv", "text/csv; charset=utf-8", "CSV"),
    "jsonl": Format("jsonl", "jsonl", "application/x-ndjson", "JSON Lines"),
    "parquet": Format("parquet", "parquet", "application/vnd.apache.parquet", "Parquet"),
}


def get_format(name: str) -> Format:
    found = FORMATS.get((name or "").strip().lower())
    if found is None:
        raise Invalid(f"no export format {name!r}; choose one of {', '.join(FORMATS)}")
    return found


# --- text values -------------------------------------------------------------------------


def text_time(value: datetime | None) -> str | None:
    # The API's spelling: UTC with a Z, so every export and every API answer read the same.
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value is not None else None


def _text_json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _text_bool(value: Any) -> str | None:
    return None if value is None else ("true" if value else "false")


def _text_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


_TEXT: dict[str, Callable[[Any], Any]] = {
    "time": text_time,
    "json": _text_json,
    "bool": _text_bool,
    "date": _text_date,
}


def text_converters(columns: Sequence[Column]) -> list[tuple[int, Callable[[Any], Any]]]:
    """(index, converter) of the columns whose values are not already plain text or numbers."""
    return [(i, _TEXT[c.kind]) for i, c in enumerate(columns) if c.kind in _TEXT]


def csv_bytes(
    names: Sequence[str],
    chunks: Iterable[Rows],
    *,
    converters: Sequence[tuple[int, Callable[[Any], Any]]] = (),
    bom: bool = False,
) -> Iterator[bytes]:
    """CSV in UTF-8, one block of bytes per chunk; NULL is an empty field.

    With `bom`, the file starts with a byte-order mark: Excel on Windows (what most operators
    open a CSV with) reads a file without one in the system's code page (GBK on a Chinese
    Windows) and shows the Chinese as mojibake.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(names)
    head = (BOM if bom else "") + buffer.getvalue()
    yield head.encode()
    for rows in chunks:
        buffer.seek(0)
        buffer.truncate()
        if converters:
            for row in rows:
                values = list(row)
                for index, convert in converters:
                    values[index] = convert(values[index])
                writer.writerow(values)
        else:
            writer.writerows(rows)
        yield buffer.getvalue().encode()


def jsonl_bytes(names: Sequence[str], chunks: Iterable[Rows]) -> Iterator[bytes]:
    """One JSON object a line; JSON columns stay nested, times are UTC with a Z."""
    options = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC | orjson.OPT_APPEND_NEWLINE
    dumps = orjson.dumps
    for rows in chunks:
        yield b"".join(dumps(dict(zip(names, row, strict=True)), option=options) for row in rows)


# --- Parquet -----------------------------------------------------------------------------

_ARROW: dict[str, pa.DataType] = {
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "time": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
    # Arrow has no type for free-form JSON that every reader understands; text does.
    "json": pa.string(),
    "text": pa.string(),
}


def arrow_schema(columns: Sequence[Column]) -> pa.Schema:
    fields = []
    for column in columns:
        metadata = {"unit": "fen (minor units of the currency column)"} if column.money else None
        fields.append(pa.field(column.name, _ARROW[column.kind], metadata=metadata))
    return pa.schema(fields)


def _arrow_column(values: Sequence[Any], column: Column, arrow_type: pa.DataType) -> pa.Array:
    if column.kind == "json":
        values = [None if v is None else orjson.dumps(v).decode() for v in values]
    elif column.kind == "time":
        # The UTC column type gives times back aware; Arrow stores them as UTC instants.
        values = [v if v is None or v.tzinfo else v.replace(tzinfo=UTC) for v in values]
    elif column.kind == "text":
        values = [v if v is None or isinstance(v, str) else str(v) for v in values]
    return pa.array(values, type=arrow_type)


# Rows per Parquet row group: chunks are kept as Arrow tables (compact, a few hundred bytes a
# row) until this many have come, so readers get row groups large enough to skip and compress.
ROW_GROUP = 64_000


def write_parquet(
    columns: Sequence[Column],
    chunks: Iterable[Rows],
    target: str | IO[bytes],
    *,
    row_group: int = ROW_GROUP,
) -> int:
    """A Parquet file with an explicit schema, written a row group at a time; returns the rows."""
    schema = arrow_schema(columns)
    count = 0
    pending: list[pa.Table] = []
    waiting = 0
    with pq.ParquetWriter(target, schema, compression="zstd") as writer:
        for rows in chunks:
            if not rows:
                continue
            transposed = zip(*rows, strict=True)
            arrays = [
                _arrow_column(values, column, field.type)
                for values, column, field in zip(transposed, columns, schema, strict=True)
            ]
            pending.append(pa.Table.from_arrays(arrays, schema=schema))
            waiting += len(rows)
            count += len(rows)
            if waiting >= row_group:
                writer.write_table(pa.concat_tables(pending), row_group_size=waiting)
                pending, waiting = [], 0
        if pending:
            writer.write_table(pa.concat_tables(pending), row_group_size=waiting)
    return count
