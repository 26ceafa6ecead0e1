"""`siyu report overview`, `siyu report funnel` and `siyu report rfm`."""

from __future__ import annotations

import typer
from rich.table import Table

from siyu.analytics import rfm
from siyu.analytics.funnel import funnel
from siyu.analytics.overview import overview
from siyu.cli.output import console, print_json
from siyu.db.session import unit_of_work
from siyu.errors import Invalid
from siyu.kit.actor import Actor
from siyu.kit.normalize import fen_to_yuan
from siyu.kit.timeutil import parse_time

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


@app.command("funnel")
def funnel_command(
    since: str = typer.Option(
        "", "--since", help="Only contacts first recorded since this date or time."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Lead to deal: visitors → leads → first order → repeat order, per source."""
    try:
        start = parse_time(since) if since else None
    except ValueError as error:
        raise Invalid(f"--since: {error}") from None
    with unit_of_work() as session:
        data = funnel(session, actor=Actor.cli(), since=start)
    if json_output:
        print_json(data)
        return
    table = Table("source", "visitors", "leads", "first order", "repeat order", "visitor → repeat")
    rows = [(r["source"] or "-", r) for r in data["by_source"]]
    for label, row in [*rows, ("all", data["total"])]:
        rate = row["overall"]
        table.add_row(
            label,
            *(f"{row[step]:,}" for step in data["steps"]),
            "-" if rate is None else f"{rate:.1%}",
        )
    console.print(table)


@app.command("rfm")
def rfm_command(
    refresh: bool = typer.Option(False, "--refresh", help="Work the scores out again first."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """RFM: buyers per recency × frequency score, and per named segment."""
    with unit_of_work() as session:
        if refresh:
            rfm.refresh_for(session, actor=Actor.cli())
        data = rfm.report(session, actor=Actor.cli())
    if json_output:
        print_json(data)
        return
    if data["computed_at"] is None:
        console.print("never computed: run `siyu report rfm --refresh`", highlight=False)
        return
    console.print(
        f"{data['contacts']:,} buyers of the last {data['window_days']} days, "
        f"computed {data['computed_at']}",
        highlight=False,
    )
    cells = {(c["r"], c["f"]): c["contacts"] for c in data["grid"]}
    grid = Table("R \\ F", *(f"F{f}" for f in range(1, 6)), title="buyers by R × F")
    for r in range(5, 0, -1):
        grid.add_row(f"R{r}", *(f"{cells.get((r, f), 0):,}" for f in range(1, 6)))
    console.print(grid)
    table = Table("segment", "名称", "buyers", "share", "average ¥")
    for row in data["segments"]:
        share, average = row["share"], row["average_monetary"]
        table.add_row(
            row["name_en"],
            row["name_zh"],
            f"{row['contacts']:,}",
            "-" if share is None else f"{share:.1%}",
            "-" if average is None else fen_to_yuan(average),
        )
    console.print(table)
