"""HTTP answers for exports, shared by the API and the console.

`csv_response` is the one any console view (a chart, a dashboard table) uses to offer its data
as a CSV download:

    return csv_response("复购率.csv", ["month", "rate"], rows)
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import IO, Any
from urllib.parse import quote

import orjson
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from siyu.exports import formats, service
from siyu.kit.actor import Actor
from siyu.kit.chunks import chunked

FILE_BLOCK = 256 * 1024


def attachment(filename: str) -> str:
    """A Content-Disposition that keeps a Chinese file name (RFC 6266 filename*) with a plain
    ASCII fallback for old clients."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return formats.text_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return value


def csv_response(
    filename: str, columns: list[str], rows: Iterable[Sequence[Any]], *, bom: bool = True
) -> StreamingResponse:
    """`rows` (any iterable, read lazily) as a streamed CSV download named `filename`.

    UTF-8 with a byte-order mark by default: operators open downloads in Excel, which reads a
    CSV without one in the Windows code page and shows Chinese as mojibake. Times are written in
    UTC with a Z, NULL as an empty field, dicts and lists as JSON.
    """
    cells = ([_cell(value) for value in row] for row in rows)
    body = formats.csv_bytes(columns, chunked(cells, 1000), bom=bom)
    return StreamingResponse(
        body,
        media_type=formats.FORMATS["csv"].media_type,
        headers={"Content-Disposition": attachment(filename)},
    )


def _file_blocks(handle: IO[bytes]) -> Iterator[bytes]:
    with handle:  # closing the temporary file deletes it
        while block := handle.read(FILE_BLOCK):
            yield block


def export_response(
    session: Session, *, actor: Actor, plan: service.Plan, bom: bool = False
) -> StreamingResponse:
    """A planned export as a download. CSV and JSON Lines stream while the rows are read; the
    audit row is added when the stream ends, and the request's unit of work commits it."""
    headers = {"Content-Disposition": attachment(plan.filename)}
    if plan.format.name != "parquet":
        return StreamingResponse(
            service.stream(session, actor=actor, plan=plan, bom=bom),
            media_type=plan.format.media_type,
            headers=headers,
        )
    # A Parquet file is only readable once its footer (the schema and where each row group
    # starts) is written at the end, so it cannot be sent while it is written: it is written to
    # a temporary file, a row group per chunk, and that file is streamed, then deleted. The
    # file is anonymous, so it is gone even if the process dies part way.
    spool = tempfile.TemporaryFile(suffix=".parquet")  # noqa: SIM115 - closed by _file_blocks
    try:
        service.write(session, actor=actor, plan=plan, out=spool)
        size = spool.tell()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    headers["Content-Length"] = str(size)
    return StreamingResponse(
        _file_blocks(spool), media_type=plan.format.media_type, headers=headers
    )
