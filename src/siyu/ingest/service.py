"""Importing a file: detect its format, stream its rows, apply them in chunks, report the rest.

The whole file is one transaction (committed by the caller): an import killed half-way leaves
nothing behind and can simply be run again. Re-running a file changes nothing; a newer export
of the same orders updates their status and refunds.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import insert
from sqlalchemy.orm import Session

from siyu.audit import service as audit
from siyu.contacts import rollups
from siyu.contacts.identity import ImportMemory
from siyu.db.sql import Statistics
from siyu.db.types import utcnow
from siyu.growth.coupons import redeeming
from siyu.ingest.background import chunks_in_background, pays_off
from siyu.ingest.chunking import Chunk, Rejected, parse_chunks
from siyu.ingest.formats.base import Header, ImportFormat
from siyu.ingest.models import ImportBatch, ImportRowError
from siyu.ingest.pipeline import Counts, apply_contacts, apply_prepared, owner_ids
from siyu.ingest.reader import Table, open_table
from siyu.ingest.records import ContactRecord
from siyu.ingest.registry import choose
from siyu.kit.gcpause import fewer_collections

# Errors listed in the summary; all of them go to the error report and the batch.
SUMMARY_ERRORS = 1000


@dataclass
class ImportSummary:
    file: str
    format: str
    batch_id: int
    rows_read: int = 0
    orders_created: int = 0
    orders_updated: int = 0
    contacts_created: int = 0
    contacts_updated: int = 0
    contacts_merged: int = 0
    rows_rejected: int = 0
    # Paid orders that redeemed one of Siyu's coupon codes; codes on orders that none matches.
    coupons_redeemed: int = 0
    coupon_codes_unknown: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_report: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@fewer_collections()
def import_file(
    session: Session,
    path: Path,
    *,
    fmt: str = "auto",
    actor: str = "cli",
    progress: Callable[[int], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    display_name: str | None = None,
    write_error_report: bool = True,
    background: bool | None = None,
) -> ImportSummary:
    """Import one file. `background`: parse it in a process of its own (default: when it is a
    large CSV, where that pays; spreadsheets are read by a library that holds them whole)."""
    name = display_name or path.name
    if background is None:
        background = pays_off(path)
    # In the background the parsing process reports progress; here only the header is read.
    table = open_table(path, None if background else progress)
    header = Header(table.header)
    importer = choose(header, fmt, name)
    importer.bind(header)
    parsing = None
    if background:
        table.close()
        # Started before the batch is recorded: the parser loads while the file is hashed.
        parsing = chunks_in_background(path, fmt, name, progress)
    chunks = parsing if parsing is not None else parse_chunks(table, importer)
    try:
        return _import_chunks(
            session, path, chunks, importer, name, actor, table, on_start, write_error_report
        )
    finally:
        if parsing is not None:
            parsing.close()


def _import_chunks(
    session: Session,
    path: Path,
    chunks: Iterable[Chunk],
    importer: ImportFormat,
    name: str,
    actor: str,
    table: Table,
    on_start: Callable[[int], None] | None,
    write_error_report: bool,
) -> ImportSummary:
    if on_start:
        on_start(table.size)
    batch = ImportBatch(
        file_name=name, file_sha256=file_sha256(path), format=importer.name, actor=actor
    )
    session.add(batch)
    session.flush()
    summary = ImportSummary(file=name, format=importer.name, batch_id=batch.id)
    rejected: list[Rejected] = []
    counts = Counts()
    source = importer.platform or importer.name

    statistics = Statistics(session)
    memory = ImportMemory()
    for chunk in chunks:
        summary.rows_read += chunk.rows_read
        rejected += chunk.rejected
        if chunk.orders:
            counts.add(
                apply_prepared(
                    session,
                    chunk.orders,
                    batch_id=batch.id,
                    actor=actor,
                    source=source,
                    memory=memory,
                )
            )
        if chunk.records:
            contacts = cast(list[ContactRecord], chunk.records)
            counts.add(_apply_contact_chunk(session, contacts, rejected, actor, source))
        statistics.grown(counts.orders_created + counts.contacts_created)

    # Once per import: a contact's orders may arrive in many chunks.
    rollups.recompute(session, counts.touched)
    redeemed = redeeming.redeem_from_orders(session, contact_ids=counts.touched)
    summary.coupons_redeemed, summary.coupon_codes_unknown = redeemed.redeemed, redeemed.unknown
    rejected.sort(key=lambda r: r.line)
    for key, value in counts.as_dict().items():
        setattr(summary, key, value)
        setattr(batch, key, value)
    summary.rows_rejected = batch.rows_rejected = len(rejected)
    batch.rows_read = summary.rows_read
    batch.finished_at = utcnow()
    summary.errors = [{"line": r.line, "reason": r.reason} for r in rejected[:SUMMARY_ERRORS]]
    if rejected:
        session.execute(
            insert(ImportRowError.__table__),
            [{"batch_id": batch.id, "line": r.line, "reason": r.reason} for r in rejected],
        )
        if write_error_report:
            summary.error_report = _write_error_report(path, table.header, rejected)
    audit.record(
        session,
        actor=actor,
        action="import.file",
        subject_type="ingest_batch",
        subject_id=batch.id,
        file=name,
        format=importer.name,
        **counts.as_dict(),
        rows_rejected=len(rejected),
    )
    session.flush()
    return summary


def _apply_contact_chunk(
    session: Session, chunk: list[ContactRecord], rejected: list[Rejected], actor: str, source: str
) -> Counts:
    owners = owner_ids(session, {r.owner_login for r in chunk if r.owner_login})
    valid = []
    for record in chunk:
        if record.owner_login and record.owner_login not in owners:
            rejected.append(
                Rejected(record.line, f"owner {record.owner_login!r} is no staff login", [])
            )
        else:
            valid.append(record)
    return apply_contacts(session, valid, owners, actor=actor, source=source) if valid else Counts()


def _write_error_report(path: Path, header: list[str], rejected: list[Rejected]) -> str | None:
    """Rejected rows beside the file, line and reason first, to fix and import again."""
    target = path.with_name(f"{path.stem}.errors.csv")
    try:
        with target.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["line", "reason", *header])
            for r in rejected:
                writer.writerow([r.line, r.reason, *r.cells])
    except OSError:
        return None
    return str(target)
