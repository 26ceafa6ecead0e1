"""`siyu coupon create|list|show|state|issue|redeem|stats`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import typer
from rich.table import Table

from siyu.cli.output import console, print_json
from siyu.contacts import service as contacts
from siyu.db.session import unit_of_work
from siyu.errors import Invalid
from siyu.growth.coupons import issuing, redeeming, service
from siyu.growth.coupons.codes import yuan
from siyu.kit.actor import Actor
from siyu.kit.normalize import parse_money
from siyu.kit.timeutil import parse_time
from siyu.segments import service as segments

app = typer.Typer(help="Coupons: define, issue, redeem, count.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


def _money(text: str | None, label: str) -> int | None:
    if text is None:
        return None
    try:
        return parse_money(text)
    except ValueError:
        raise Invalid(f"{label} {text!r} is not an amount in yuan, e.g. 20 or 19.90") from None


def _time(text: str | None, label: str) -> datetime | None:
    try:
        return parse_time(text)
    except ValueError:
        raise Invalid(f"{label} {text!r} is not a date or time, e.g. 2026-06-30") from None


def _yuan(fen: int) -> str:
    return f"¥{yuan(fen)}"


@app.command("create")
def create_command(
    name: str = typer.Argument(..., help="The coupon's name, e.g. SPRING"),
    kind: str = typer.Option("fixed", "--kind", help="fixed, percent or free_shipping"),
    amount: str | None = typer.Option(None, "--amount", help="fixed: yuan off, e.g. 20"),
    percent: int = typer.Option(0, "--percent", help="percent: percent off, e.g. 15"),
    minimum: str | None = typer.Option(None, "--minimum", help="Minimum spend in yuan"),
    prefix: str = typer.Option("", "--prefix", help="Code prefix, up to 12 letters/digits"),
    valid_from: str | None = typer.Option(None, "--from", help="Valid from (date or time)"),
    valid_until: str | None = typer.Option(None, "--until", help="Valid until (date or time)"),
    days: int | None = typer.Option(None, "--days", help="Each code lasts this many days"),
    limit: int = typer.Option(1, "--limit", help="Codes a contact may hold"),
    stock: int | None = typer.Option(None, "--stock", help="Codes that may be issued in all"),
    description: str = typer.Option("", "--description"),
    json_output: bool = JSON,
) -> None:
    """Define a coupon."""
    with unit_of_work() as session:
        definition = service.create_definition(
            session,
            actor=Actor.cli(),
            name=name,
            kind=kind,
            amount_off=_money(amount, "--amount") or 0,
            percent_off=percent,
            minimum_spend=_money(minimum, "--minimum") or 0,
            code_prefix=prefix,
            valid_from=_time(valid_from, "--from"),
            valid_until=_time(valid_until, "--until"),
            valid_days=days,
            limit_per_contact=limit,
            stock=stock,
            description=description,
        )
        data = service.describe(definition)
    if json_output:
        print_json(data)
        return
    console.print(f"coupon {data['id']} {data['name']}: {data['terms']}", highlight=False)


@app.command("list")
def list_command(json_output: bool = JSON) -> None:
    """Every coupon with its figures."""
    with unit_of_work() as session:
        definitions = service.list_definitions(session, actor=Actor.cli())
        figures = service.stats(session, definition_ids=[d.id for d in definitions])
        rows = [{**service.describe(d), "stats": figures[d.id]} for d in definitions]
    if json_output:
        print_json(rows)
        return
    table = Table("id", "name", "terms", "state", "issued", "redeemed", "expired", "revenue")
    for row in rows:
        s = row["stats"]
        table.add_row(str(row["id"]), row["name"], row["terms"], row["state"],
                      f"{s['issued']:,}", f"{s['redeemed']:,}", f"{s['expired']:,}",
                      _yuan(s["revenue"]))  # fmt: skip
    console.print(table)


def _stats(ref: str) -> dict[str, Any]:
    with unit_of_work() as session:
        definition = service.get_definition(session, ref)
        figures = service.stats(session, definition_ids=[definition.id])[definition.id]
        return {**service.describe(definition), "stats": figures}


@app.command("show")
def show_command(
    ref: str = typer.Argument(..., help="Coupon name or id"), json_output: bool = JSON
) -> None:
    """A coupon's terms and figures."""
    data = _stats(ref)
    if json_output:
        print_json(data)
        return
    console.print(f"coupon {data['id']} {data['name']} ({data['state']}): {data['terms']}",
                  highlight=False)  # fmt: skip
    _print_stats(data["stats"])


def _print_stats(figures: dict[str, Any]) -> None:
    console.print(
        f"issued {figures['issued']:,}, redeemed {figures['redeemed']:,}, "
        f"expired {figures['expired']:,}, live {figures['live']:,}, "
        f"redemption rate {figures['redemption_rate']:.1%}, revenue {_yuan(figures['revenue'])}",
        highlight=False,
    )


@app.command("stats")
def stats_command(
    ref: str = typer.Argument(..., help="Coupon name or id"), json_output: bool = JSON
) -> None:
    """Issued, redeemed, expired, redemption rate and revenue of the redeeming orders."""
    figures = _stats(ref)["stats"]
    if json_output:
        print_json(figures)
        return
    _print_stats(figures)


@app.command("state")
def state_command(
    ref: str = typer.Argument(..., help="Coupon name or id"),
    state: str = typer.Argument(..., help="active, paused or archived"),
    json_output: bool = JSON,
) -> None:
    """Pause or archive a coupon (no new codes), or switch it on again."""
    with unit_of_work() as session:
        definition = service.get_definition(session, ref)
        service.set_state(session, actor=Actor.cli(), definition=definition, state=state)
        data = service.describe(definition)
    if json_output:
        print_json(data)
        return
    console.print(f"coupon {definition.name} is {state}", highlight=False)


@app.command("issue")
def issue_command(
    ref: str = typer.Argument(..., help="Coupon name or id"),
    contact: list[str] = typer.Option(
        [], "--contact", "-c", help="Contact id or kind:value (repeatable)"
    ),
    segment: str | None = typer.Option(None, "--segment", help="Segment id or name"),
    json_output: bool = JSON,
) -> None:
    """Issue codes to contacts, or to every member of a segment."""
    if bool(contact) == (segment is not None):
        raise Invalid("give --contact or --segment, one of the two")
    actor = Actor.cli()
    with unit_of_work() as session:
        definition = service.get_definition(session, ref)
        if segment is not None:
            found = segments.get_segment(session, segment)
            result = issuing.issue_to_segment(
                session, actor=actor, coupon=definition, segment=found
            )
        else:
            ids = [contacts.get_by_ref(session, c).id for c in contact]
            result = issuing.issue(session, actor=actor, coupon=definition, contact_ids=ids)
    data = result.as_dict()
    if json_output:
        print_json(data)
        return
    for contact_id, code in result.codes.items():
        console.print(f"contact {contact_id}: {code}", highlight=False)
    console.print(
        f"issued {data['issued']:,}; at their limit {data['at_limit']:,}; "
        f"left without (out of stock) {data['out_of_stock']:,}",
        highlight=False,
    )


@app.command("redeem")
def redeem_command(
    code: str = typer.Argument(..., help="The code the customer shows"),
    order: str | None = typer.Option(None, "--order", help="Order id, platform:id or a till ref"),
    amount: str | None = typer.Option(None, "--amount", help="The order's amount in yuan"),
    json_output: bool = JSON,
) -> None:
    """Redeem a code (once; the minimum spend is checked when the amount is known)."""
    with unit_of_work() as session:
        coupon = redeeming.redeem(
            session,
            actor=Actor.cli(),
            code=code,
            order_ref=order,
            amount=_money(amount, "--amount"),
        )
        data = service.describe_coupon(coupon)
    if json_output:
        print_json(data)
        return
    console.print(f"redeemed {data['code']} for contact {data['contact_id']}", highlight=False)
