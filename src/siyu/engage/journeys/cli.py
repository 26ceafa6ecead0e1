"""`siyu journey list|show|create|validate|activate|pause|stats|ready`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from siyu.cli.output import console, err_console, print_json
from siyu.db.session import unit_of_work
from siyu.engage.journeys import ready, service
from siyu.engage.journeys.definition import DefinitionInvalid
from siyu.errors import Invalid
from siyu.kit.actor import Actor

app = typer.Typer(help="Journeys: steps a trigger walks contacts through.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


def _read(file: Path) -> dict[str, Any]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise Invalid(f"{file}: {error}") from None
    except json.JSONDecodeError as error:
        raise Invalid(f"{file}: not JSON (line {error.lineno}, column {error.colno})") from None
    if not isinstance(data, dict):
        raise Invalid(f"{file}: a journey is a JSON object")
    return data


def _problems(error: DefinitionInvalid) -> DefinitionInvalid:
    """Every problem on a line of its own before the one-line error."""
    for problem in error.problems:
        err_console.print(f"  {problem}", highlight=False, markup=False)
    return error


@app.command("list")
def list_command(json_output: bool = JSON) -> None:
    """Every journey with its state and how many are in it."""
    with unit_of_work() as session:
        rows = [
            service.describe(session, j) for j in service.list_journeys(session, actor=Actor.cli())
        ]
    if json_output:
        print_json(rows)
        return
    table = Table("id", "name", "state", "version", "in it now", "entered")
    for row in rows:
        counts = row["enrolments"]
        live = counts.get("active", 0) + counts.get("waiting", 0)
        table.add_row(str(row["id"]), row["name"], row["state"], str(row["version"]),
                      f"{live:,}", f"{counts['total']:,}")  # fmt: skip
    console.print(table)


@app.command("show")
def show_command(
    ref: str = typer.Argument(..., help="Journey id or name"), json_output: bool = JSON
) -> None:
    """A journey with its definition."""
    with unit_of_work() as session:
        data = service.describe(session, service.get_journey(session, ref))
    if json_output:
        print_json(data)
        return
    state = f"{data['state']}, version {data['version']}"
    console.print(f"journey {data['id']} {data['name']!r}: {state}", highlight=False)
    print_json(data["definition"])


@app.command("create")
def create_command(
    file: Path = typer.Option(
        ..., "--file", "-f", help="A JSON file: name, description, definition."
    ),
    name: str = typer.Option(None, "--name", help="The name, if the file gives none."),
    json_output: bool = JSON,
) -> None:
    """Create a draft from a JSON file ({"name", "definition"} or the definition alone)."""
    data = _read(file)
    definition = data.get("definition", data if "trigger" in data else None)
    title = name or data.get("name")
    if not title:
        raise Invalid('give the journey a name: --name or "name" in the file')
    with unit_of_work() as session:
        try:
            journey = service.create_journey(
                session, actor=Actor.cli(), name=title, description=data.get("description", ""),
                definition=definition,  # type: ignore[arg-type]
            )  # fmt: skip
        except DefinitionInvalid as error:
            raise _problems(error) from None
        out = service.describe(session, journey)
    if json_output:
        print_json(out)
        return
    console.print(f"journey {out['id']} {out['name']!r} created as a draft", highlight=False)


@app.command("validate")
def validate_command(
    ref: str = typer.Argument(None, help="A saved journey's id or name"),
    file: Path = typer.Option(None, "--file", "-f", help="Or a JSON file to check."),
    json_output: bool = JSON,
) -> None:
    """Check a journey; exit code 1 when it could not be switched on."""
    if (ref is None) == (file is None):
        raise Invalid("give a journey or --file")
    with unit_of_work() as session:
        if file is not None:
            data = _read(file)
            definition = data.get("definition", data)
        else:
            definition = service.get_journey(session, ref).definition
        _checked, problems = service.validate(session, definition)
    if json_output:
        print_json({"valid": not problems, "problems": [p.as_dict() for p in problems]})
    elif not problems:
        console.print("valid: it can be switched on", highlight=False)
    if problems:
        if not json_output:
            raise _problems(DefinitionInvalid(problems))
        raise typer.Exit(1)


@app.command("activate")
def activate_command(
    ref: str = typer.Argument(..., help="Journey id or name"), json_output: bool = JSON
) -> None:
    """Switch a journey on (only a valid one)."""
    with unit_of_work() as session:
        try:
            journey = service.activate(
                session, actor=Actor.cli(), journey=service.get_journey(session, ref)
            )
        except DefinitionInvalid as error:
            raise _problems(error) from None
        out = service.describe(session, journey)
    if json_output:
        print_json(out)
        return
    console.print(f"journey {out['id']} {out['name']!r} is active", highlight=False)


@app.command("pause")
def pause_command(
    ref: str = typer.Argument(..., help="Journey id or name"), json_output: bool = JSON
) -> None:
    """Pause: nobody enters or moves on until it is switched on again."""
    with unit_of_work() as session:
        journey = service.pause(
            session, actor=Actor.cli(), journey=service.get_journey(session, ref)
        )
        out = service.describe(session, journey)
    if json_output:
        print_json(out)
        return
    console.print(f"journey {out['id']} {out['name']!r} is paused", highlight=False)


@app.command("stats")
def stats_command(
    ref: str = typer.Argument(..., help="Journey id or name"), json_output: bool = JSON
) -> None:
    """Per step: entered, went on, waiting now, sent, exited, goal reached."""
    with unit_of_work() as session:
        data = service.stats(session, service.get_journey(session, ref))
    if json_output:
        print_json(data)
        return
    table = Table("step", "type", "entered", "went on", "waiting", "sent", "exited", "goal")
    for row in data["steps"]:
        label = "  " * row["depth"] + row["step"] + (" (removed)" if row["removed"] else "")
        counts = ("entered", "completed", "waiting", "sent", "exited", "goal_reached")
        table.add_row(label, row["type"] or "", *(f"{row[k]:,}" for k in counts))
    console.print(table)


@app.command("ready")
def ready_command(
    name: str = typer.Argument(..., help=f"One of {', '.join(ready.READY)}"),
    channel: int = typer.Option(..., "--channel", help="The channel id its messages go through."),
    title: str = typer.Option(None, "--name", help="A name of its own."),
    json_output: bool = JSON,
) -> None:
    """Make a ready journey as a draft; read it, then `siyu journey activate`."""
    with unit_of_work() as session:
        journey = ready.create_ready(
            session, actor=Actor.cli(), key=name, channel_id=channel, name=title
        )
        out = service.describe(session, journey)
    if json_output:
        print_json(out)
        return
    console.print(f"journey {out['id']} {out['name']!r} created as a draft; switch it on with "
                  f"`siyu journey activate {out['id']}`", highlight=False)  # fmt: skip
