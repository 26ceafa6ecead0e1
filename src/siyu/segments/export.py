"""A segment's members as the canonical contact CSV or JSONL, ready to stream."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterator
from typing import IO

from sqlalchemy.orm import Session

from siyu.ingest import export
from siyu.ingest.formats.canonical import CONTACT_COLUMNS
from siyu.segments.models import Segment
from siyu.segments.service import member_ids

MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


def spooled(session: Session, segment: Segment, fmt: str) -> IO[bytes]:
    """The members written now, in the caller's transaction, to a file that spills to disk
    past 8 MB: one moment's members, in little memory whatever their number."""
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024, mode="w+b")  # noqa: SIM115
    text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
    rows = export.contact_rows(session, among=member_ids(segment))
    if fmt == "csv":
        writer = csv.DictWriter(text, fieldnames=CONTACT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    else:
        for row in rows:
            text.write(json.dumps(row, ensure_ascii=False) + "\n")
    text.flush()
    text.detach()
    spool.seek(0)
    return spool


def chunks(spool: IO[bytes]) -> Iterator[bytes]:
    with spool:
        while block := spool.read(64 * 1024):
            yield block
