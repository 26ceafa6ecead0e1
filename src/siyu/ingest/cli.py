"""`siyu import FILE...` and `siyu export contacts|orders`."""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.exc import IntegrityError

from siyu.cli.output import console, err_console, fail, print_json
from siyu.db.session import unit_of_work
from siyu.errors import Conflict, Invalid, SiyuError
from siyu.ingest import export
from siyu.ingest.formats.canonical import CONTACT_COLUMNS, ORDER_COLUMNS
from siyu.ingest.service import ImportSummary, import_file

COUNTS = (
    "rows_read",
    "orders_created",
    "orders_updated",
    "contacts_created",
    "contacts_updated",
    "contacts_merged",
    "rows_rejected",
)


def import_command(
    files: list[Path] = typer.Argument(..., help="Shop exports (CSV or XLSX)"),
    fmt: str = typer.Option(
        "auto",
        "--format",
        help="auto, taobao, jd, douyin, pdd, youzan, "
        "kuaishou, wechat_shop, wecom, orders_csv, contacts_csv or mapping:FILE",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import shop exports; each file lands whole or not at all."""
    summaries: list[ImportSummary] = []
    failures: list[dict[str, str]] = []
    for path in files:
        try:
            summaries.append(_import_one(path, fmt, quiet=json_output))
        except SiyuError as error:
            failures.append({"file": str(path), "error": error.message})
            if not json_output:
                fail(error.message)
    if json_output:
        print_json(_combined(summaries, failures))
    else:
        for summary in summaries:
            _print_summary(summary)
    if failures:
        raise typer.Exit(1)


# Tries of one file when another process writes the same new customers at the same moment.
ATTEMPTS = 3


def _import_one(path: Path, fmt: str, quiet: bool) -> ImportSummary:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _import_attempt(path, fmt, quiet)
        except IntegrityError:
            # The whole file was rolled back, so trying again is safe.
            if attempt == ATTEMPTS:
                raise Conflict(
                    f"{path.name}: other imports kept writing the same customers at the same "
                    "time; run this one again"
                ) from None
    raise AssertionError("unreachable")


def _import_attempt(path: Path, fmt: str, quiet: bool) -> ImportSummary:
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=quiet or not err_console.is_terminal,
    )
    with progress, unit_of_work() as session:
        task = progress.add_task(path.name, total=None)
        return import_file(
            session,
            path,
            fmt=fmt,
            progress=lambda n: progress.advance(task, n),
            on_start=lambda total: progress.update(task, total=total),
        )


def _combined(summaries: list[ImportSummary], failures: list[dict[str, str]]) -> dict[str, Any]:
    if len(summaries) == 1 and not failures:
        return summaries[0].as_dict()
    formats = sorted({s.format for s in summaries})
    return {
        "format": formats[0] if len(formats) == 1 else ",".join(formats),
        **{key: sum(getattr(s, key) for s in summaries) for key in COUNTS},
        "errors": [{"file": s.file, **e} for s in summaries for e in s.errors],
        "files": [s.as_dict() for s in summaries],
        "failed": failures,
    }


def _print_summary(summary: ImportSummary) -> None:
    console.print(
        f"[bold]{summary.file}[/bold] ({summary.format}): {summary.rows_read:,} rows read, "
        f"{summary.orders_created:,} orders created, {summary.orders_updated:,} updated, "
        f"{summary.contacts_created:,} contacts created, {summary.contacts_merged:,} merged, "
        f"{summary.rows_rejected:,} rejected",
        highlight=False,
    )
    for error in summary.errors[:10]:
        console.print(f"  line {error['line']}: {error['reason']}", highlight=False)
    if summary.rows_rejected > 10:
        console.print(f"  … and {summary.rows_rejected - 10:,} more", highlight=False)
    if summary.error_report:
        console.print(f"  rejected rows written to {summary.error_report}", highlight=False)


class What(StrEnum):
    contacts = "contacts"
    orders = "orders"


class Format(StrEnum):
    csv = "csv"
    jsonl = "jsonl"
    parquet = "parquet"


def export_command(
    what: What = typer.Argument(..., help="contacts or orders"),
    fmt: Format = typer.Option(Format.csv, "--format", help="csv, jsonl or parquet"),
    output: Path = typer.Option(None, "--output", "-o", help="File to write (default: stdout)"),
) -> None:
    """Export contacts or orders in Siyu's own shape (importable back)."""
    columns = CONTACT_COLUMNS if what is What.contacts else ORDER_COLUMNS
    with unit_of_work() as session:
        rows = export.contact_rows(session) if what is What.contacts else export.order_rows(session)
        count = write_rows(rows, columns, fmt, output)
    if output:
        err_console.print(f"{count:,} {what.value} written to {output}", highlight=False)


def write_rows(rows: Any, columns: tuple[str, ...], fmt: Format, output: Path | None) -> int:
    """Rows to a file, or to stdout when there is none (not parquet: it is binary)."""
    if fmt is Format.parquet:
        if output is None:
            raise Invalid("parquet is binary: give --output FILE")
        return write_parquet(rows, columns, output)
    handle = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        return write_text(rows, columns, fmt, handle)
    finally:
        if output:
            handle.close()


def write_text(rows: Any, columns: tuple[str, ...], fmt: Format, handle: Any) -> int:
    count = 0
    if fmt is Format.csv:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            count += 1
    else:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def write_parquet(rows: Any, columns: tuple[str, ...], output: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from siyu.kit.chunks import chunked

    schema = pa.schema([(column, pa.string()) for column in columns])
    count = 0
    with pq.ParquetWriter(str(output), schema) as writer:
        for batch in chunked(rows, 10000):
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            count += len(batch)
    return count
