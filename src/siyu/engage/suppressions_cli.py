"""`siyu suppression add|remove|list`: the addresses nothing is sent to."""

from __future__ import annotations

import typer
from rich.table import Table

from siyu.cli.output import console, print_json
from siyu.db.session import unit_of_work
from siyu.engage import suppressions
from siyu.kit.actor import Actor

app = typer.Typer(help="Addresses nothing is sent to (bounces, complaints).", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")
KIND = typer.Option(
    None, "--kind", help="email, phone, wechat_openid, wecom_external_userid (default: guessed)"
)


@app.command("add")
def suppression_add(
    address: str = typer.Argument(..., help="An e-mail address or a phone number"),
    kind: str = KIND,
    reason: str = typer.Option("", "--reason", help="Why, e.g. complained"),
    json_output: bool = JSON,
) -> None:
    """Stop every message to an address."""
    with unit_of_work() as session:
        row, created = suppressions.add(
            session, address=address, kind=kind, reason=reason, source="cli", actor=Actor.cli()
        )
    if json_output:
        print_json({**row, "created": created})
        return
    state = "suppressed" if created else "was already suppressed"
    console.print(f"{row['address_kind']} {row['address']} {state}", highlight=False)


@app.command("remove")
def suppression_remove(
    address: str = typer.Argument(..., help="An e-mail address or a phone number"),
    kind: str = KIND,
) -> None:
    """Allow messages to an address again (consent still applies)."""
    with unit_of_work() as session:
        suppressions.remove(session, address=address, kind=kind, actor=Actor.cli())
    console.print(f"{address} removed from the suppression list", highlight=False)


@app.command("list")
def suppression_list(
    kind: str = typer.Option(None, "--kind", help="Only this address kind"),
    limit: int = typer.Option(100, min=1, max=500),
    json_output: bool = JSON,
) -> None:
    """The suppression list, newest first."""
    with unit_of_work() as session:
        page = suppressions.list_suppressions(session, actor=Actor.cli(), kind=kind, limit=limit)
    if json_output:
        print_json(page.items)
        return
    if not page.items:
        console.print("the suppression list is empty")
        return
    table = Table("added", "kind", "address", "reason", "source")
    for row in page.items:
        table.add_row(
            row["created_at"], row["address_kind"], row["address"], row["reason"], row["source"]
        )
    console.print(table)
