"""`siyu segment count|create|list|show|members|export|update|delete|refresh|add|remove|history`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from siyu.cli.output import console, err_console, print_json
from siyu.db.session import unit_of_work
from siyu.db.types import utcnow
from siyu.errors import Invalid
from siyu.ingest import export
from siyu.ingest.cli import Format, write_rows
from siyu.ingest.formats.canonical import CONTACT_COLUMNS
from siyu.kit.actor import Actor
from siyu.kit.normalize import fen_to_yuan
from siyu.segments import membership, service
from siyu.segments.language import QueryError

app = typer.Typer(help="Segments: slices of the pool, kept current.", no_args_is_help=True)


def _pointed(query: str, error: QueryError) -> QueryError:
    """The error with the query's line and a caret under the place it names."""
    if error.line is None or error.column is None:
        return error
    lines = query.splitlines() or [""]
    line = lines[min(error.line, len(lines)) - 1]
    err_console.print(f"  {line}\n  {' ' * (error.column - 1)}^", highlight=False, markup=False)
    return error


def _read(query: str | None, file: Path | None) -> str | None:
    if file is not None:
        if query is not None:
            raise Invalid("give the query or --file, not both")
        try:
            return file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise Invalid(f"{file}: {error}") from None
    return query


@app.command("count")
def count_command(
    query: str = typer.Argument(None, help='e.g. tag("VIP") and total_spent >= ¥500'),
    file: Path = typer.Option(None, "--file", "-f", help="Read the query from a file."),
    sample: int = typer.Option(0, "--sample", help="Also show this many members."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """How many contacts a query matches now, and how long the database took."""
    text = _read(query, file)
    if text is None:
        raise Invalid("give a query, e.g. siyu segment count 'tag(\"VIP\")'")
    with unit_of_work() as session:
        try:
            result = service.count(session, actor=Actor.cli(), query=text, sample=sample)
        except QueryError as error:
            raise _pointed(text, error) from None
    if json_output:
        print_json({k: v for k, v in result.items() if k != "definition"})
        return
    console.print(f"{result['count']:,} contacts ({result['sql_ms']} ms)", highlight=False)
    if sample:
        _members_table(result["sample"])


def _members_table(rows: list[dict[str, Any]]) -> None:
    table = Table("id", "name", "city", "orders", "spent ¥", "last order")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["name"] or "",
            row["city"] or "",
            str(row["order_count"]),
            fen_to_yuan(row["total_spent"]),
            (row["last_order_at"] or "")[:10],
        )
    console.print(table)


@app.command("create")
def create_command(
    name: str = typer.Argument(..., help="A name, e.g. 高价值复购"),
    query: str = typer.Option(None, "--query", "-q", help="The segment's query."),
    file: Path = typer.Option(None, "--file", "-f", help="Read the query from a file."),
    static: bool = typer.Option(
        False, "--static", help="A fixed list: a snapshot of --query, or --members."
    ),
    members: Path = typer.Option(
        None, "--members", help="A file of contact ids or kind:value references, one a line."
    ),
    tag: str = typer.Option(None, "--tag", help="Members carry this tag while they are in."),
    description: str = typer.Option("", "--description", help="What it is for."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Create a segment (kept current) or, with --static, a fixed list."""
    text = _read(query, file)
    refs = _refs(members) if members else None
    with unit_of_work() as session:
        try:
            segment = service.create_segment(
                session,
                actor=Actor.cli(),
                name=name,
                kind="static" if static else "dynamic",
                query=text,
                description=description,
                tag=tag,
                members=refs,
            )
        except QueryError as error:
            raise _pointed(text or "", error) from None
        data = service.describe(session, segment)
    if json_output:
        print_json(data)
        return
    console.print(
        f"segment {data['id']} {data['name']!r}: {data['member_count']:,} members", highlight=False
    )


def _refs(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise Invalid(f"{path}: {error}") from None
    return [line.split(",")[0].strip() for line in lines if line.strip()]


@app.command("list")
def list_command(
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Every segment with its size."""
    with unit_of_work() as session:
        data = [
            service.describe(session, s) for s in service.list_segments(session, actor=Actor.cli())
        ]
    if json_output:
        print_json(data)
        return
    if not data:
        console.print("no segments yet; make one with siyu segment create NAME --query '…'")
        return
    table = Table("id", "name", "kind", "members", "query")
    for row in data:
        table.add_row(
            str(row["id"]), row["name"], row["kind"], f"{row['member_count']:,}", row["query"] or ""
        )
    console.print(table)


@app.command("show")
def show_command(
    ref: str = typer.Argument(..., help="Segment id or name"),
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """A segment: its query, size, auto-tag and when it was last refreshed."""
    with unit_of_work() as session:
        data = service.describe(session, service.get_segment(session, ref))
    if json_output:
        print_json(data)
        return
    for key in ("id", "name", "kind", "query", "member_count", "tag", "refreshed_at"):
        console.print(f"{key:>13}: {data[key] if data[key] is not None else '-'}", highlight=False)


@app.command("members")
def members_command(
    ref: str = typer.Argument(..., help="Segment id or name"),
    limit: int = typer.Option(50, "--limit", help="How many (at most 500)."),
    cursor: str = typer.Option(None, "--cursor", help="Where the previous page stopped."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Members, newest contact first, a page at a time."""
    with unit_of_work() as session:
        segment = service.get_segment(session, ref)
        items, following = service.members_page(
            session, actor=Actor.cli(), segment=segment, cursor=cursor, limit=limit
        )
    if json_output:
        print_json({"items": items, "next_cursor": following})
        return
    _members_table(items)
    if following:
        console.print(f"more: --cursor {following}", highlight=False)


@app.command("export")
def export_command(
    ref: str = typer.Argument(..., help="Segment id or name"),
    fmt: Format = typer.Option(Format.csv, "--format", help="csv, jsonl or parquet"),
    output: Path = typer.Option(None, "--output", "-o", help="File to write (default: stdout)"),
) -> None:
    """Members in the canonical contact CSV (importable back, e.g. into another list)."""
    with unit_of_work() as session:
        segment = service.get_segment(session, ref)
        rows = export.contact_rows(session, among=service.member_ids(segment))
        count = write_rows(rows, CONTACT_COLUMNS, fmt, output)
    if output:
        err_console.print(f"{count:,} members written to {output}", highlight=False)


@app.command("update")
def update_command(
    ref: str = typer.Argument(..., help="Segment id or name"),
    name: str = typer.Option(None, "--name", help="A new name."),
    query: str = typer.Option(None, "--query", "-q", help="A new query."),
    description: str = typer.Option(None, "--description"),
    tag: str = typer.Option(None, "--tag", help="Auto-tag members with this tag."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Rename, redefine or re-tag a segment; a new query applies at once."""
    with unit_of_work() as session:
        segment = service.get_segment(session, ref)
        try:
            service.update_segment(
                session,
                actor=Actor.cli(),
                segment=segment,
                name=name,
                query=query,
                description=description,
                tag=tag,
            )
        except QueryError as error:
            raise _pointed(query or "", error) from None
        data = service.describe(session, segment)
    if json_output:
        print_json(data)
        return
    console.print(f"segment {data['name']!r}: {data['member_count']:,} members", highlight=False)


@app.command("delete")
def delete_command(ref: str = typer.Argument(..., help="Segment id or name")) -> None:
    """Delete a segment and its history (refused while another segment uses it)."""
    with unit_of_work() as session:
        segment = service.get_segment(session, ref)
        name = segment.name
        service.delete_segment(session, actor=Actor.cli(), segment=segment)
    console.print(f"deleted segment {name!r}", highlight=False)


@app.command("refresh")
def refresh_command(
    ref: str = typer.Argument(None, help="Segment id or name (default: take waiting changes)"),
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Recompute a segment from the whole pool now; without one, re-evaluate every contact
    whose data changed since the worker last looked (what `siyu serve` does by itself)."""
    with unit_of_work() as session:
        if ref is None:
            taken = 0
            while (step := membership.process_pending(session, now=utcnow())) > 0:
                taken += step
            data: dict[str, Any] = {"contacts": taken}
        else:
            segment = service.get_segment(session, ref)
            change = service.refresh_now(session, actor=Actor.cli(), segment=segment)
            data = {
                "segment": segment.name,
                "entered": len(change.entered),
                "exited": len(change.exited),
                "member_count": segment.member_count,
            }
    if json_output:
        print_json(data)
        return
    console.print(", ".join(f"{k}: {v}" for k, v in data.items()), highlight=False)


def _change(ref: str, refs: list[str], file: Path | None, *, adding: bool) -> None:
    given = [*refs, *(_refs(file) if file else [])]
    if not given:
        raise Invalid("give contact ids or kind:value references, or --file")
    with unit_of_work() as session:
        segment = service.get_segment(session, ref)
        change = service.change_members(
            session,
            actor=Actor.cli(),
            segment=segment,
            add=given if adding else (),
            remove=() if adding else given,
        )
        count = segment.member_count
    done = len(change.entered) if adding else len(change.exited)
    verb = "added" if adding else "removed"
    console.print(f"{done:,} {verb}; {count:,} members", highlight=False)


@app.command("add")
def add_command(
    ref: str = typer.Argument(..., help="Static list id or name"),
    refs: list[str] = typer.Argument(None, help="Contact ids or kind:value references"),
    file: Path = typer.Option(None, "--file", "-f", help="A file of references, one a line."),
) -> None:
    """Add contacts to a static list."""
    _change(ref, refs or [], file, adding=True)


@app.command("remove")
def remove_command(
    ref: str = typer.Argument(..., help="Static list id or name"),
    refs: list[str] = typer.Argument(None, help="Contact ids or kind:value references"),
    file: Path = typer.Option(None, "--file", "-f", help="A file of references, one a line."),
) -> None:
    """Remove contacts from a static list."""
    _change(ref, refs or [], file, adding=False)


@app.command("history")
def history_command(
    ref: str = typer.Argument(..., help="Segment id or name"),
    contact: int = typer.Option(None, "--contact", help="Only this contact's stays."),
    limit: int = typer.Option(100, "--limit"),
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Who was in the segment when, latest first."""
    with unit_of_work() as session:
        segment = service.get_segment(session, ref)
        rows = service.history(
            session, actor=Actor.cli(), segment=segment, contact_id=contact, limit=limit
        )
    if json_output:
        print_json(rows)
        return
    table = Table("contact", "entered", "left", "why")
    for row in rows:
        table.add_row(
            str(row["contact_id"]),
            row["entered_at"] or "",
            row["exited_at"] or "",
            row["exit_reason"] or "",
        )
    console.print(table)
