"""`siyu report …` (overview, funnel, rfm, repurchase, dashboard, cohorts, acquisition,
returns) and `siyu spend …`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.table import Table

from siyu.analytics import reports, rfm, spend
from siyu.analytics.funnel import funnel
from siyu.analytics.overview import overview
from siyu.analytics.scope import parse_scope
from siyu.cli.output import console, print_json
from siyu.db.session import unit_of_work
from siyu.errors import Invalid
from siyu.ingest.reader import detect_encoding
from siyu.kit.actor import Actor
from siyu.kit.normalize import fen_to_yuan, parse_money
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


# --- what the pool earns: shared options ---------------------------------------------------

SINCE = typer.Option("", "--since", help="From this date (local), e.g. 2026-01-01.")
UNTIL = typer.Option("", "--until", help="Up to and including this date (local).")
PLATFORM = typer.Option(
    [], "--platform", "-p", help="Only these platforms (repeat, or comma separated)."
)
SEGMENT = typer.Option("", "--segment", help="Only the members of this segment (name or id).")
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


def _scope(session: Any, since: str, until: str, platform: list[str], segment: str) -> Any:
    return parse_scope(
        session,
        since=since,
        until=until,
        platforms=[p for item in platform for p in item.split(",")],
        segment=segment,
    )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _yuan(value: int | None) -> str:
    return "-" if value is None else fen_to_yuan(value)


def _scope_line(data: dict[str, Any]) -> str:
    scope = data["scope"]
    parts = [
        f"from {scope['since'] or 'the first order'} to {scope['until'] or 'now'}",
        f"platforms {', '.join(scope['platforms']) or 'all'}",
    ]
    if scope.get("segment"):
        parts.append(f"segment {scope['segment']}")
    if data.get("as_of"):
        parts.append(f"orders as of {data['as_of']}")
    return "; ".join(parts)


@app.command("repurchase")
def repurchase_command(
    since: str = SINCE,
    until: str = UNTIL,
    platform: list[str] = PLATFORM,
    segment: str = SEGMENT,
    json_output: bool = JSON,
) -> None:
    """Repurchase rate, purchase frequency and average order value, per platform, and the
    share of new customers who bought again within 30, 60, 90, 180 and 365 days."""
    with unit_of_work() as session:
        data = reports.repurchase(
            session, actor=Actor.cli(), scope=_scope(session, since, until, platform, segment)
        )
    if json_output:
        print_json(data)
        return
    console.print(_scope_line(data), highlight=False)
    table = Table("platform", "buyers", "repeat buyers", "repurchase rate", "orders / buyer",
                  "average order ¥", "revenue ¥")  # fmt: skip
    for label, row in [("all", data["summary"])] + [
        (r["platform"], r) for r in data["by_platform"]
    ]:
        table.add_row(
            label,
            f"{row['buyers']:,}",
            f"{row['repeat_buyers']:,}",
            _percent(row["repurchase_rate"]),
            "-" if row["purchase_frequency"] is None else f"{row['purchase_frequency']:.2f}",
            _yuan(row["average_order_value"]),
            _yuan(row["revenue"]),
        )
    console.print(table)
    within = Table("within", "new customers", "bought again", "rate")
    for row in data["repurchase_within"]:
        within.add_row(
            f"{row['days']} days", f"{row['customers']:,}", f"{row['repurchased']:,}",
            _percent(row["rate"]),
        )  # fmt: skip
    console.print(within)


@app.command("dashboard")
def dashboard_command(
    since: str = SINCE,
    until: str = UNTIL,
    platform: list[str] = PLATFORM,
    segment: str = SEGMENT,
    json_output: bool = JSON,
) -> None:
    """Everything the console's dashboard shows: repurchase, order value, days between
    orders, new and returning revenue, revenue by platform and owned channel, growth."""
    with unit_of_work() as session:
        data = reports.dashboard(
            session, actor=Actor.cli(), scope=_scope(session, since, until, platform, segment)
        )
    if json_output:
        print_json(data)
        return
    summary = data["summary"]
    console.print(_scope_line(data), highlight=False)
    console.print(
        f"{summary['buyers']:,} buyers, {summary['orders']:,} orders, "
        f"¥{_yuan(summary['revenue'])}; repurchase rate {_percent(summary['repurchase_rate'])}, "
        f"average order ¥{_yuan(summary['average_order_value'])}",
        highlight=False,
    )
    gaps = data["days_between_orders"]
    table = Table("days between orders", "gaps", title=f"median {gaps['median_days']} days")
    for row in gaps["buckets"]:
        table.add_row(row["days"], f"{row['gaps']:,}")
    console.print(table)
    months = Table("month", "new ¥", "returning ¥", "new customers")
    for row in data["new_and_returning"][-12:]:
        months.add_row(
            row["month"], _yuan(row["new_revenue"]), _yuan(row["returning_revenue"]),
            f"{row['new_customers']:,}",
        )  # fmt: skip
    console.print(months)
    channels = Table("owned channel", "kind", "orders credited", "revenue ¥")
    for row in data["revenue_by_channel"]:
        channels.add_row(row["channel"], row["kind"], f"{row['orders']:,}", _yuan(row["revenue"]))
    console.print(channels)


@app.command("cohorts")
def cohorts_command(
    since: str = SINCE,
    until: str = UNTIL,
    platform: list[str] = PLATFORM,
    segment: str = SEGMENT,
    revenue: bool = typer.Option(
        False, "--revenue", help="Show cumulative revenue per customer instead of retention."
    ),
    json_output: bool = JSON,
) -> None:
    """Monthly acquisition cohorts: the share of each month's new customers who bought in
    each later month (or, with --revenue, their cumulative revenue per customer)."""
    with unit_of_work() as session:
        data = reports.cohorts(
            session, actor=Actor.cli(), scope=_scope(session, since, until, platform, segment)
        )
    if json_output:
        print_json(data)
        return
    console.print(_scope_line(data), highlight=False)
    # Narrow cells so a year of months fits a terminal: whole percent, whole yuan.
    shown = min(len(data["months"]), 12)
    table = Table(
        "cohort", "customers", *(f"M{m}" for m in range(shown)), box=box.SIMPLE_HEAD,
        padding=(0, 1, 0, 0),
    )  # fmt: skip
    for row in data["cohorts"]:
        values = row["revenue_per_customer"] if revenue else row["retention"]
        cells = [
            "-" if v is None else (f"{v // 100:,}" if revenue else f"{v:.0%}")
            for v in values[:shown]
        ]
        table.add_row(row["cohort"], f"{row['customers']:,}", *cells)
    console.print(table)


@app.command("acquisition")
def acquisition_command(
    since: str = SINCE,
    until: str = UNTIL,
    segment: str = SEGMENT,
    json_output: bool = JSON,
) -> None:
    """Cost per acquired customer per channel, and a repeat sale through owned channels
    against buying the customer again on a platform."""
    with unit_of_work() as session:
        data = reports.acquisition(
            session, actor=Actor.cli(), scope=_scope(session, since, until, [], segment)
        )
    if json_output:
        print_json(data)
        return
    table = Table("channel", "spend ¥", "customers", "cost per customer ¥")
    for row in data["by_channel"]:
        table.add_row(
            row["channel"] or "-", _yuan(row["spend"] or None), f"{row['customers']:,}",
            _yuan(row["cost_per_customer"]),
        )  # fmt: skip
    console.print(table)
    sale = data["repeat_sale"]
    basis = "spend entered" if sale["platform_cost_basis"] == "spend" else "the setting"
    console.print(
        f"a repeat sale through owned channels: ¥{_yuan(sale['owned_cost_per_sale'])} "
        f"({sale['owned_sales']:,} sales for ¥{_yuan(sale['owned_cost'])}); buying a customer "
        f"again on a platform: ¥{_yuan(sale['platform_cost_per_customer'])} "
        f"(from {basis})",
        highlight=False,
    )


@app.command("returns")
def returns_command(
    since: str = SINCE,
    until: str = UNTIL,
    segment: str = SEGMENT,
    json_output: bool = JSON,
) -> None:
    """Campaigns and journeys: revenue credited against what they cost."""
    with unit_of_work() as session:
        data = reports.returns_report(
            session, actor=Actor.cli(), scope=_scope(session, since, until, [], segment)
        )
    if json_output:
        print_json(data)
        return
    table = Table("", "name", "sent", "sales", "revenue ¥", "cost ¥", "return")
    for kind in ("campaigns", "journeys"):
        for row in data[kind]:
            table.add_row(
                f"{kind[:-1]} {row['id']}", row["name"], f"{row['sent']:,}",
                f"{row['converted']:,}", _yuan(row["revenue"]), _yuan(row["cost"]),
                _percent(row["return"]),
            )  # fmt: skip
    console.print(table)


# --- marketing spend -----------------------------------------------------------------------

spend_app = typer.Typer(help="Marketing spend per channel and month.", no_args_is_help=True)


@spend_app.command("set")
def spend_set(
    month: str = typer.Argument(..., help="The month, e.g. 2026-11."),
    channel: str = typer.Argument(..., help="A contact source (douyin), code:CODE, campaign:ID …"),
    amount: str = typer.Argument(..., help="In yuan, e.g. 12000 or ¥12,000.50."),
    note: str = typer.Option("", "--note", help="What the money bought."),
) -> None:
    """Enter what a channel cost in a month (the same month and channel again replaces it)."""
    try:
        fen = parse_money(amount)
    except ValueError as error:
        raise Invalid(f"amount: {error}") from None
    if fen is None:
        raise Invalid("amount: give an amount in yuan")
    with unit_of_work() as session:
        entry = spend.set_spend(
            session, actor=Actor.cli(), month=month, channel=channel, amount=fen, note=note
        )
        console.print(
            f"{entry.month} {entry.channel}: ¥{fen_to_yuan(entry.amount)}", highlight=False
        )


@spend_app.command("import")
def spend_import(
    path: Path = typer.Argument(..., help="CSV: month,channel,amount[,note]; a header is fine."),
) -> None:
    """Enter spend from a CSV file; every valid line is saved, bad lines are named."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise Invalid(f"{path}: {error.strerror}") from None
    text = raw.decode(detect_encoding(raw[:65536]), errors="replace")
    with unit_of_work() as session:
        result = spend.import_csv(session, actor=Actor.cli(), text=text, where=path.name)
    for problem in result.problems:
        console.print(problem, highlight=False)
    console.print(f"{result.saved:,} entries saved, {len(result.problems):,} lines left out")
    if result.problems and not result.saved:
        raise typer.Exit(1)


@spend_app.command("list")
def spend_list(
    since: str = typer.Option("", "--since", help="From this month, e.g. 2026-01."),
    until: str = typer.Option("", "--until", help="Up to this month."),
    json_output: bool = JSON,
) -> None:
    """Spend entered, newest month first."""
    with unit_of_work() as session:
        rows = spend.list_spend(session, actor=Actor.cli(), since=since, until=until)
    if json_output:
        print_json(rows)
        return
    table = Table("id", "month", "channel", "amount ¥", "note")
    for row in rows:
        table.add_row(
            str(row["id"]), row["month"], row["channel"], _yuan(row["amount"]), row["note"]
        )
    console.print(table)


@spend_app.command("delete")
def spend_delete(
    spend_id: int = typer.Argument(..., help="The entry's id (see `siyu spend list`)."),
) -> None:
    """Remove a spend entry."""
    with unit_of_work() as session:
        spend.delete_spend(session, actor=Actor.cli(), spend_id=spend_id)
    console.print(f"spend entry {spend_id} deleted")
