"""`siyu staff create|list|disable` and `siyu apikey create|list|revoke`."""

from __future__ import annotations

import typer
from rich.table import Table

from siyu.cli.output import console, print_json
from siyu.db.session import unit_of_work
from siyu.kit.actor import Actor
from siyu.kit.timeutil import isoformat
from siyu.staff import service
from siyu.staff.api import key_dict
from siyu.staff.models import ROLES, SCOPES

staff_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


@staff_app.command("create")
def staff_create(
    login: str = typer.Argument(...),
    name: str = typer.Option("", help="Display name"),
    role: str = typer.Option("staff", help=f"One of {', '.join(ROLES)}"),
    email: str = typer.Option(None),
    phone: str = typer.Option(None),
    password: str = typer.Option(None, help="At least 8 characters; omit for no console login"),
) -> None:
    """Create a staff account."""
    with unit_of_work() as session:
        staff = service.create_staff(
            session,
            login=login,
            name=name,
            role=role,
            email=email,
            phone=phone,
            password=password,
            actor=Actor.cli(),
        )
        console.print(f"staff {staff.login} ({staff.role}) created", highlight=False)


@staff_app.command("list")
def staff_list(json_output: bool = JSON) -> None:
    """List staff accounts."""
    with unit_of_work() as session:
        rows = [
            {
                "id": s.id,
                "login": s.login,
                "name": s.name,
                "role": s.role,
                "disabled_at": isoformat(s.disabled_at),
            }
            for s in service.list_staff(session)
        ]
    if json_output:
        print_json(rows)
        return
    table = Table("id", "login", "name", "role", "disabled")
    for row in rows:
        table.add_row(
            str(row["id"]), row["login"], row["name"], row["role"], row["disabled_at"] or ""
        )
    console.print(table)


@staff_app.command("disable")
def staff_disable(login: str = typer.Argument(...)) -> None:
    """Disable a staff account (its customers stay; hand them over in the console)."""
    with unit_of_work() as session:
        service.disable_staff(session, login=login, actor=Actor.cli())
        console.print(f"staff {login} disabled", highlight=False)


@staff_app.command("password")
def staff_password(
    login: str = typer.Argument(...),
    password: str = typer.Option(
        ...,
        prompt="New password",
        hide_input=True,
        confirmation_prompt=True,
        help="At least 8 characters (asked for when not given)",
    ),
) -> None:
    """Set a staff member's password; also lifts a sign-in lock."""
    with unit_of_work() as session:
        service.set_password(session, login=login, password=password, actor=Actor.cli())
        console.print(f"password of {login} set", highlight=False)


@staff_app.command("handover")
def staff_handover(
    from_login: str = typer.Argument(..., help="Who hands customers over"),
    to_login: str = typer.Argument(..., help="Who takes them over"),
    contact: list[int] = typer.Option(None, "--contact", help="Only these contact ids (repeat)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only say how many would move"),
) -> None:
    """Hand one staff member's customers over to another (离职继承 / 在职继承)."""
    from siyu.contacts.handover import handover

    with unit_of_work() as session:
        count = handover(
            session,
            from_login=from_login,
            to_login=to_login,
            actor=Actor.cli(),
            contact_ids=contact or None,
            preview=dry_run,
        )
    verb = "would move" if dry_run else "moved"
    console.print(f"{count:,} customer(s) {verb} from {from_login} to {to_login}", highlight=False)


@apikey_app.command("create")
def apikey_create(
    name: str = typer.Argument(..., help="What the key is for"),
    scope: list[str] = typer.Option(["read"], "--scope", help=f"Repeatable: {', '.join(SCOPES)}"),
    json_output: bool = JSON,
) -> None:
    """Create an API key; the key is shown once."""
    with unit_of_work() as session:
        key, secret = service.create_api_key(session, name=name, scopes=scope, actor=Actor.cli())
        data = {**key_dict(key), "key": secret}
    if json_output:
        print_json(data)
        return
    console.print(f"API key {data['prefix']}… ({','.join(data['scopes'])}). Shown once, keep it:")
    console.print(secret, highlight=False, soft_wrap=True)


@apikey_app.command("list")
def apikey_list(json_output: bool = JSON) -> None:
    """List API keys (never their secrets)."""
    with unit_of_work() as session:
        rows = [key_dict(k) for k in service.list_api_keys(session)]
    if json_output:
        print_json(rows)
        return
    table = Table("id", "name", "prefix", "scopes", "last used", "revoked")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["name"],
            row["prefix"],
            ",".join(row["scopes"]),
            row["last_used_at"] or "",
            row["revoked_at"] or "",
        )
    console.print(table)


@apikey_app.command("revoke")
def apikey_revoke(key: str = typer.Argument(..., help="The key's id or prefix")) -> None:
    """Revoke an API key at once."""
    with unit_of_work() as session:
        revoked = service.revoke_api_key(session, key_id_or_prefix=key, actor=Actor.cli())
        console.print(f"API key {revoked.prefix} revoked", highlight=False)
