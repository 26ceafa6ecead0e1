"""`siyu export list|all|TABLE|contacts|orders`: the merchant's tables as files.

`contacts` and `orders` keep their old meaning, Siyu's own importable shapes (siyu.ingest);
every other name is a table, written column for column.
"""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from siyu.cli.output import console, err_console, print_json
from siyu.db.session import unit_of_work
from siyu.errors import Invalid
from siyu.exports import formats, service
from siyu.exports.registry import registry
from siyu.ingest import cli as canonical
from siyu.ingest import export as canonical_rows
from siyu.ingest.formats.canonical import CONTACT_COLUMNS, ORDER_COLUMNS
from siyu.kit.actor import Actor

CANONICAL = {"contacts": CONTACT_COLUMNS, "orders": ORDER_COLUMNS}


def export_command(
    what: str = typer.Argument(
        ...,
        metavar="TABLE|list|all|contacts|orders",
        help="A table (`siyu export list` names them), list, all, or contacts/orders in "
        "Siyu's importable shape",
    ),
    fmt: str = typer.Option(None, "--format", help="csv, jsonl or parquet (all: parquet)"),
    out: str = typer.Option(
        None, "--out", "--output", "-o", help="File to write, - for stdout; for all, a folder"
    ),
    since: str = typer.Option(None, help="Rows from this date or time on (SIYU_TIMEZONE)"),
    until: str = typer.Option(None, help="Rows before this date or time (SIYU_TIMEZONE)"),
    segment: str = typer.Option(None, help="Only the current members of this segment"),
    bom: bool = typer.Option(False, "--bom", help="CSV with a byte-order mark, for Excel"),
    json_output: bool = typer.Option(False, "--json", help="list: print JSON for scripts"),
) -> None:
    """Export a table as CSV, JSON Lines or Parquet, streamed in chunks."""
    if what == "list":
        _list(json_output)
    elif what == "all":
        _all(fmt or "parquet", out, since, until, bom)
    elif what in CANONICAL:
        if since or until or segment:
            raise Invalid(f"--since, --until and --segment apply to tables, not to {what}")
        _canonical(what, fmt or "csv", out)
    else:
        _one(what, fmt or _suffix_format(out), out, since, until, segment, bom)


def _suffix_format(out: str | None) -> str:
    """--out contacts.parquet means Parquet when no --format says otherwise."""
    suffix = Path(out).suffix.lstrip(".").lower() if out and out != "-" else ""
    return suffix if suffix in formats.FORMATS else "csv"


def _list(json_output: bool) -> None:
    with unit_of_work() as session:
        tables = service.list_tables(session, actor=Actor.cli())
    if json_output:
        print_json(tables)
        return
    view = Table("table", "rows", "date filter on")
    for table in tables:
        view.add_row(table["name"], f"{table['rows']:,}", table["time_column"] or "—")
    console.print(view)


def _canonical(what: str, fmt: str, out: str | None) -> None:
    try:
        chosen = canonical.Format(fmt)
    except ValueError:
        raise Invalid(f"no export format {fmt!r}; choose one of csv, jsonl, parquet") from None
    path = None if out in (None, "-") else Path(out)
    with unit_of_work() as session:
        rows = (
            canonical_rows.contact_rows(session)
            if what == "contacts"
            else canonical_rows.order_rows(session)
        )
        written = canonical.write_rows(rows, CANONICAL[what], chosen, path)
    if path:
        err_console.print(f"{written:,} {what} written to {path}", highlight=False)


@contextmanager
def _target(path: Path):  # type: ignore[no-untyped-def]
    """A draft beside `path`, moved into place only when the export finished: an interrupted
    export leaves no half-written file under the real name."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle, draft = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    except OSError as error:
        raise Invalid(f"cannot write {path}: {error.strerror or error}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
        # mkstemp makes the draft private; the file gets the mode any new file would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(draft, 0o666 & ~umask)
        os.replace(draft, path)
    except BaseException:
        Path(draft).unlink(missing_ok=True)
        raise


def _check_path(path: Path) -> None:
    if path.is_dir():
        raise Invalid(f"cannot write {path}: it is a folder; name a file")
    if not path.parent.exists() and str(path.parent):
        raise Invalid(f"cannot write {path}: no folder {path.parent}")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )


def _write_file(
    name: str,
    fmt: str,
    path: Path,
    progress: Progress,
    *,
    since: str | None = None,
    until: str | None = None,
    segment: str | None = None,
    bom: bool = False,
) -> int:
    with unit_of_work() as session:
        actor = Actor.cli()
        plan = service.plan_export(
            session, actor=actor, table=name, fmt=fmt, since=since, until=until, segment=segment
        )
        task = progress.add_task(name, total=service.count(session, plan))
        with _target(path) as stream:
            rows = service.write(
                session,
                actor=actor,
                plan=plan,
                out=stream,
                bom=bom,
                on_chunk=lambda n: progress.advance(task, n),
            )
        progress.remove_task(task)
    return rows


def _one(
    name: str,
    fmt: str,
    out: str | None,
    since: str | None,
    until: str | None,
    segment: str | None,
    bom: bool,
) -> None:
    chosen = formats.get_format(fmt)
    filters = {"since": since, "until": until, "segment": segment, "bom": bom}
    if out in (None, "-"):
        if chosen.name == "parquet" and sys.stdout.isatty():
            raise Invalid("Parquet is binary: give --out FILE, or pipe it somewhere")
        with unit_of_work() as session:
            actor = Actor.cli()
            plan = service.plan_export(
                session, actor=actor, table=name, fmt=fmt, since=since, until=until, segment=segment
            )
            try:
                service.write(session, actor=actor, plan=plan, out=sys.stdout.buffer, bom=bom)
                sys.stdout.buffer.flush()
            except BrokenPipeError:
                # `| head` closed the pipe: normal on a command line; the audit row is kept.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    path = Path(out)
    _check_path(path)
    with _progress() as progress:
        rows = _write_file(name, chosen.name, path, progress, **filters)  # type: ignore[arg-type]
    err_console.print(f"{rows:,} row(s) of {name} written to {path}", highlight=False)


def _all(fmt: str, out: str | None, since: str | None, until: str | None, bom: bool) -> None:
    chosen = formats.get_format(fmt)
    if not out or out == "-":
        raise Invalid("export all writes one file per table: give --out FOLDER")
    if since or until:
        raise Invalid("--since and --until apply to one table at a time")
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise Invalid(f"cannot write into {folder}: it is a file; name a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise Invalid(f"cannot create {folder}: {error.strerror or error}") from None
    total = 0
    names = list(registry())
    with _progress() as progress:
        for name in names:
            path = folder / f"{name}.{chosen.suffix}"
            total += _write_file(name, chosen.name, path, progress, bom=bom)
    err_console.print(
        f"{len(names)} tables, {total:,} rows written to {folder} as {chosen.label}",
        highlight=False,
    )
