"""`siyu report overview`."""

from __future__ import annotations

import typer
from rich.table import Table

from siyu.analytics.overview import overview
from siyu.cli.output import console, print_json
from siyu.db.session import unit_of_work
from siyu.kit.actor import Actor
from siyu.kit.normalize import fen_to_yuan

app = typer.Typer(help="Reports on the pool.", no_args_is_help=True)


@app.command("overview")
def overview_command(
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Pool size, growth, repurchase rate and the last 30 days' revenue by platform."""
    with unit_of_work() as session:
        data = overview(session, actor=Actor.cli())
    if json_output:
        print_json(data)
        return
    rate = data["repurchase_rate"]
    console.print(
        f"pool {data['pool_size']:,} contacts, {data['new_this_week']:,} new this week; "
        f"{data['buyers']:,} buyers, repurchase rate "
        f"{'-' if rate is None else f'{rate:.1%}'}",
        highlight=False,
    )
    table = Table("platform", "orders (30 days)", "revenue ¥")
    for row in data["revenue_30d_by_platform"]:
        table.add_row(row["platform"], f"{row['orders']:,}", fen_to_yuan(row["revenue"]))
    console.print(table)
