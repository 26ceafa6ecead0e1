"""`siyu contacts show|search`, `siyu tag add|remove`, `siyu note add`,
`siyu consent grant|withdraw|history`."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from siyu.cli.output import console, print_json
from siyu.contacts import consent as consent_service
from siyu.contacts import search as contact_search
from siyu.contacts import service
from siyu.db.session import unit_of_work
from siyu.kit.actor import Actor
from siyu.kit.normalize import fen_to_yuan

app = typer.Typer(help="Look customers up.", no_args_is_help=True)
tag_app = typer.Typer(help="Tag customers.", no_args_is_help=True)
note_app = typer.Typer(help="Staff notes (备注) on customers.", no_args_is_help=True)
consent_app = typer.Typer(help="Consent per channel, and its ledger.", no_args_is_help=True)

REF_HELP = "A contact id or an identity such as phone:13800138000 or taobao_nick:小王"
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


@app.command("show")
def show(ref: str = typer.Argument(..., help=REF_HELP), json_output: bool = JSON) -> None:
    """The customer 360 of one contact."""
    with unit_of_work() as session:
        data = service.profile(session, service.get_by_ref(session, ref))
    if json_output:
        print_json(data)
        return
    _print_profile(data)


def _print_profile(data: dict[str, Any]) -> None:
    console.print(
        f"[bold]#{data['id']} {data['name'] or '(no name)'}[/bold]  "
        f"{data['city'] or ''} {data['phone_hint'] or ''}",
        highlight=False,
    )
    for identity in data["identities"]:
        console.print(f"  {identity['kind']}: {identity['value']}", highlight=False)
    console.print(
        f"orders {data['order_count']}  spent ¥{fen_to_yuan(data['total_spent'])}  "
        f"refunded ¥{fen_to_yuan(data['refunded_amount'])}  "
        f"platforms {', '.join(data['platforms']) or '-'}  "
        f"first {data['first_order_at'] or '-'}  last {data['last_order_at'] or '-'}",
        highlight=False,
    )
    rfm = data["rfm"]
    console.print(
        f"stage {data['lifecycle_stage']}"
        + (f"  RFM R{rfm['r']} F{rfm['f']} M{rfm['m']} ({rfm['segment']})" if rfm else ""),
        highlight=False,
    )
    if data["tags"]:
        console.print("tags: " + ", ".join(data["tags"]), highlight=False)
    if data["owner"]:
        console.print(f"owner: {data['owner']}", highlight=False)
    if data["merged_ids"]:
        console.print("merged ids: " + ", ".join(map(str, data["merged_ids"])), highlight=False)
    for note in data["notes"][:5]:
        console.print(
            f"note ({note['author']}, {note['created_at']}): {note['body']}", highlight=False
        )
    if data["recent_orders"]:
        table = Table("placed", "platform", "order", "status", "paid ¥", "refunded ¥")
        for order in data["recent_orders"]:
            table.add_row(
                order["placed_at"],
                order["platform"],
                order["platform_order_id"],
                order["status"],
                fen_to_yuan(order["paid_amount"]),
                fen_to_yuan(order["refunded_amount"]),
            )
        console.print(table)


@app.command("search")
def search(
    text: str = typer.Argument(..., help="Name, phone, e-mail or identity value"),
    limit: int = typer.Option(20, min=1, max=500),
    json_output: bool = JSON,
) -> None:
    """Find contacts by name, phone, e-mail or any identity value."""
    with unit_of_work() as session:
        page = contact_search.list_contacts(session, text=text, limit=limit)
    if json_output:
        print_json(page.items)
        return
    if not page.items:
        console.print(f"no contact matches {text!r}")
        return
    table = Table("id", "name", "identities", "orders", "spent ¥", "platforms")
    for item in page.items:
        table.add_row(
            str(item["id"]),
            item["name"] or "",
            ", ".join(f"{i['kind']}:{i['value']}" for i in item["identities"][:3]),
            str(item["order_count"]),
            fen_to_yuan(item["total_spent"]),
            ",".join(item["platforms"]),
        )
    console.print(table)


@tag_app.command("add")
def tag_add(
    ref: str = typer.Argument(..., help=REF_HELP),
    tags: list[str] = typer.Argument(..., help="name or group:name"),
) -> None:
    """Tag a contact."""
    with unit_of_work() as session:
        contact = service.get_by_ref(session, ref)
        added = service.add_tags(session, contact=contact, tags=tags, actor=Actor.cli())
        console.print(f"contact {contact.id}: {added} tag(s) added")


@tag_app.command("remove")
def tag_remove(
    ref: str = typer.Argument(..., help=REF_HELP),
    tag: str = typer.Argument(..., help="name or group:name"),
) -> None:
    """Remove a tag from a contact."""
    with unit_of_work() as session:
        contact = service.get_by_ref(session, ref)
        service.remove_tag(session, contact=contact, tag=tag, actor=Actor.cli())
        console.print(f"contact {contact.id}: tag removed")


@note_app.command("add")
def note_add(
    ref: str = typer.Argument(..., help=REF_HELP), body: str = typer.Argument(..., help="The note")
) -> None:
    """Add a staff note to a contact."""
    with unit_of_work() as session:
        contact = service.get_by_ref(session, ref)
        note = service.add_note(session, contact=contact, body=body, actor=Actor.cli())
        console.print(f"contact {contact.id}: note {note.id} added")


CHANNEL_HELP = "email, sms, wecom or wechat_oa"
PURPOSE = typer.Option(
    "", "--purpose", help="What the customer agreed to (at most 200 characters)."
)


def _change(ref: str, channel: str, granted: bool, purpose: str, json_output: bool) -> None:
    with unit_of_work() as session:
        contact = service.get_by_ref(session, ref)
        changed = consent_service.change_consent(
            session,
            contact=contact,
            channel=channel,
            granted=granted,
            purpose=purpose,
            source="cli",
            actor=Actor.cli(),
        )
        current = consent_service.current(session, contact.id)
    if json_output:
        print_json({"contact_id": contact.id, "changed": changed, "current": current})
        return
    state = "granted" if granted else "withdrawn"
    if changed:
        console.print(f"contact {contact.id}: {channel} consent {state}", highlight=False)
    else:
        console.print(
            f"contact {contact.id}: {channel} consent was already {state}; nothing changed",
            highlight=False,
        )


@consent_app.command("grant")
def consent_grant(
    ref: str = typer.Argument(..., help=REF_HELP),
    channel: str = typer.Argument(..., help=CHANNEL_HELP),
    purpose: str = PURPOSE,
    json_output: bool = JSON,
) -> None:
    """Record that a customer agreed to be contacted on a channel."""
    _change(ref, channel, True, purpose, json_output)


@consent_app.command("withdraw")
def consent_withdraw(
    ref: str = typer.Argument(..., help=REF_HELP),
    channel: str = typer.Argument(..., help=CHANNEL_HELP),
    purpose: str = PURPOSE,
    json_output: bool = JSON,
) -> None:
    """Record that a customer no longer wants to be contacted on a channel."""
    _change(ref, channel, False, purpose, json_output)


@consent_app.command("history")
def consent_history(
    ref: str = typer.Argument(..., help=REF_HELP), json_output: bool = JSON
) -> None:
    """Every change of a customer's consent, newest first."""
    with unit_of_work() as session:
        contact = service.get_by_ref(session, ref)
        rows = consent_service.history(session, contact.id)
    if json_output:
        print_json(rows)
        return
    if not rows:
        console.print(f"contact {contact.id}: no consent on record")
        return
    table = Table("recorded", "channel", "granted", "purpose", "source", "by", "ip")
    for row in rows:
        table.add_row(
            row["recorded_at"],
            row["channel"],
            "yes" if row["granted"] else "no",
            row["purpose"],
            row["source"],
            row["actor"],
            row["ip"] or "",
        )
    console.print(table)
