"""`siyu link create|list`: trackable short links from the command line."""

from __future__ import annotations

import typer
from rich.table import Table

from siyu.cli.output import console, print_json
from siyu.db.session import unit_of_work
from siyu.ingest.inbound import links
from siyu.kit.actor import Actor

app = typer.Typer(help="Trackable short links (/l/CODE) and their clicks.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


@app.command("create")
def link_create(
    name: str = typer.Argument(..., help="What the link is for, e.g. 双十一短信"),
    url: str = typer.Argument(..., help="The target: an http(s) URL"),
    campaign: str = typer.Option("", "--campaign", help="Counted under this campaign"),
    code: str = typer.Option(None, "--code", help="The short code (default: a random one)"),
    source: str = typer.Option(None, "--utm-source", help="utm_source, e.g. sms"),
    medium: str = typer.Option(None, "--utm-medium", help="utm_medium"),
    utm_campaign: str = typer.Option(
        None, "--utm-campaign", help="utm_campaign (default: campaign)"
    ),
    term: str = typer.Option(None, "--utm-term", help="utm_term"),
    content: str = typer.Option(None, "--utm-content", help="utm_content"),
    json_output: bool = JSON,
) -> None:
    """Create a short link; prints its path /l/CODE."""
    utm = {
        "utm_source": source,
        "utm_medium": medium,
        "utm_campaign": utm_campaign,
        "utm_term": term,
        "utm_content": content,
    }
    with unit_of_work() as session:
        link = links.create_link(
            session,
            name=name,
            target_url=url,
            campaign=campaign,
            code=code,
            utm=utm,
            actor=Actor.cli(),
        )
        data = links.as_json(links.link_dict(link, clicks=0))
    if json_output:
        print_json(data)
        return
    console.print(f"link #{data['id']} {data['name']}: {data['path']}", highlight=False)
    console.print(f"  → {data['redirect_url']}", highlight=False, soft_wrap=True)


@app.command("list")
def link_list(
    campaign: str = typer.Option(None, "--campaign", help="Only this campaign's links"),
    json_output: bool = JSON,
) -> None:
    """List links with their clicks, newest first."""
    with unit_of_work() as session:
        rows = [
            links.as_json(row)
            for row in links.list_links(session, actor=Actor.cli(), campaign=campaign)
        ]
    if json_output:
        print_json(rows)
        return
    table = Table("id", "path", "name", "campaign", "clicks", "contacts", "target")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["path"],
            row["name"],
            row["campaign"],
            str(row["clicks"]),
            str(row["contacts"]),
            row["target_url"],
        )
    console.print(table)
