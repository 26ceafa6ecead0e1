"""`siyu source create|list|revoke`: the write keys that sites and apps send events with."""

from __future__ import annotations

import typer
from rich.table import Table

from siyu.cli.output import console, print_json
from siyu.db.session import unit_of_work
from siyu.events import sources
from siyu.kit.actor import Actor

app = typer.Typer(help="Event sources and their write keys (/v1 event API).", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


@app.command("create")
def source_create(
    name: str = typer.Argument(..., help="The site or app, e.g. 官网 or mini-program"),
    json_output: bool = JSON,
) -> None:
    """Create a source; its write key is shown once."""
    with unit_of_work() as session:
        source, key = sources.create_source(session, name=name, actor=Actor.cli())
        data = {"id": source.id, "name": source.name, "write_key": key}
    if json_output:
        print_json(data)
        return
    console.print(f"source #{data['id']} {data['name']}. Write key, shown once, keep it:")
    console.print(key, highlight=False, soft_wrap=True)


@app.command("list")
def source_list(json_output: bool = JSON) -> None:
    """List sources (never their write keys)."""
    with unit_of_work() as session:
        rows = [sources.source_dict(s) for s in sources.list_sources(session)]
    if json_output:
        print_json(rows)
        return
    table = Table("id", "name", "prefix", "created", "revoked")
    for row in rows:
        table.add_row(
            str(row["id"]),
            str(row["name"]),
            str(row["prefix"]),
            str(row["created_at"] or ""),
            str(row["revoked_at"] or ""),
        )
    console.print(table)


@app.command("revoke")
def source_revoke(ref: str = typer.Argument(..., help="The source's id or key prefix")) -> None:
    """Revoke a source's write key at once."""
    with unit_of_work() as session:
        source = sources.revoke_source(session, ref=ref, actor=Actor.cli())
        console.print(f"source #{source.id} {source.name} revoked", highlight=False)
