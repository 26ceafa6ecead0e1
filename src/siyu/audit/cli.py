"""`siyu audit list`: the audit log on the command line."""

from __future__ import annotations

from datetime import datetime

import typer
from rich.table import Table

from siyu.audit import service
from siyu.cli.output import console, print_json
from siyu.db.session import unit_of_work
from siyu.errors import Invalid
from siyu.kit.actor import Actor
from siyu.kit.timeutil import as_utc

app = typer.Typer(help="The audit log.", no_args_is_help=True)


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        raise Invalid(
            f"{text!r} is not a date or time like 2024-03-01 or 2024-03-01T09:30"
        ) from None


@app.command("list")
def list_command(
    actor: str = typer.Option(None, help='Who acted: "staff:<login>", "apikey:<id>", "cli"'),
    action: str = typer.Option(None, help="e.g. staff.disable, or contact.* for a whole area"),
    subject_type: str = typer.Option(None, "--object-type", help="contact, staff, api_key, …"),
    subject_id: str = typer.Option(None, "--object-id", help="Needs --object-type"),
    since: str = typer.Option(None, help="From this date or time on (SIYU_TIMEZONE)"),
    until: str = typer.Option(None, help="Before this date or time (SIYU_TIMEZONE)"),
    limit: int = typer.Option(50, min=1, max=service.MAX_LIMIT),
    cursor: str = typer.Option(None, help="The next_cursor of the previous page"),
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Audit events, newest first."""
    with unit_of_work() as session:
        page = service.list_events(
            session,
            viewer=Actor.cli(),
            actor=actor,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            since=_time(since),
            until=_time(until),
            limit=limit,
            cursor=cursor,
        )
        rows = [service.event_dict(e) for e in page.events]
    if json_output:
        print_json({"items": rows, "next_cursor": page.next_cursor})
        return
    table = Table("id", "when (UTC)", "who", "action", "object", "detail")
    for row in rows:
        subject = row["subject_type"] + (f":{row['subject_id']}" if row["subject_id"] else "")
        detail = ", ".join(f"{k}={v}" for k, v in row["detail"].items())
        table.add_row(
            str(row["id"]), row["occurred_at"], row["actor"], row["action"], subject, detail
        )
    console.print(table)
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}", highlight=False)
