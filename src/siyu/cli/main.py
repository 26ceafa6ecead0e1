"""The `siyu` command. Domain commands live in each domain's cli.py and are mounted here."""

from __future__ import annotations

import gc
import logging
import os
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from siyu.analytics.cli import app as report_app
from siyu.analytics.cli import spend_app
from siyu.analytics.clv.cli import app as clv_app
from siyu.audit.cli import app as audit_app
from siyu.cli.output import console, fail, print_json
from siyu.config import get_settings
from siyu.contacts.cli import app as contacts_app
from siyu.contacts.cli import consent_app, note_app, tag_app
from siyu.db.migrate import is_initialised, upgrade
from siyu.db.session import get_engine, unit_of_work
from siyu.engage.cli import campaign_app, channel_app
from siyu.engage.journeys.cli import app as journey_app
from siyu.engage.suppressions_cli import app as suppression_app
from siyu.errors import SiyuError
from siyu.events.cli import app as source_app
from siyu.exports.cli import export_command
from siyu.growth.coupons.cli import app as coupon_app
from siyu.ingest.cli import import_command
from siyu.ingest.inbound.links_cli import app as link_app
from siyu.kit.actor import Actor
from siyu.segments.cli import app as segment_app
from siyu.staff.cli import apikey_app, staff_app


class _Root(TyperGroup):
    """Renders Siyu errors as one line and exit code 1, never a traceback."""

    def invoke(self, ctx: Any) -> object:
        try:
            return super().invoke(ctx)
        except SiyuError as error:
            fail(error.message)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            fail("interrupted; nothing half-written was kept")
            raise typer.Exit(130) from None
        except Exception as error:
            # Usage errors and exits belong to the command-line library (exit code 2 or their own).
            library = type(error).__module__.startswith(("typer", "click"))
            if library or os.environ.get("SIYU_DEBUG"):
                raise
            fail(f"unexpected {type(error).__name__}: {error} (set SIYU_DEBUG=1 for details)")
            raise typer.Exit(1) from None


app = typer.Typer(
    help="Siyu (私域): the merchant's own customer pool.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    cls=_Root,
)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(contacts_app, name="contacts")
app.add_typer(tag_app, name="tag")
app.add_typer(note_app, name="note")
app.add_typer(consent_app, name="consent")
app.add_typer(staff_app, name="staff")
app.add_typer(apikey_app, name="apikey")
app.add_typer(source_app, name="source")
app.add_typer(report_app, name="report")
app.add_typer(spend_app, name="spend")
app.add_typer(clv_app, name="clv")
app.add_typer(audit_app, name="audit")
app.add_typer(link_app, name="link")
app.add_typer(segment_app, name="segment")
app.add_typer(channel_app, name="channel")
app.add_typer(campaign_app, name="campaign")
app.add_typer(suppression_app, name="suppression")
app.add_typer(journey_app, name="journey")
app.add_typer(coupon_app, name="coupon")
app.command("import")(import_command)
app.command("export")(export_command)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest version."""
    upgrade(get_engine())
    console.print(f"database is up to date: {_shown_url()}")


def _shown_url() -> str:
    from sqlalchemy import make_url

    return make_url(get_settings().database_url).render_as_string(hide_password=True)


@app.command()
def init(
    demo: bool = typer.Option(True, help="Load the demo merchant when the database is empty."),
    customers: int = typer.Option(20000, help="Demo size."),
) -> None:
    """Create the database, load the demo merchant if it is empty, make a first admin."""
    from siyu.contacts.service import count_contacts
    from siyu.staff.service import ensure_first_admin

    engine = get_engine()
    fresh = not is_initialised(engine)
    upgrade(engine)
    console.print(f"database {'created' if fresh else 'is up to date'}: {_shown_url()}")
    with unit_of_work() as session:
        empty = count_contacts(session) == 0
    if demo and empty:
        _load_demo(customers, seed=42)
    with unit_of_work() as session:
        created = ensure_first_admin(session)
    if created:
        login, password = created
        console.print(
            "\nA first admin was created; it is shown only now. Change the password with "
            "`siyu staff password admin`:\n"
            f"  login:    {login}\n  password: {password}\n",
            highlight=False,
        )


@app.command()
def demo(
    customers: int = typer.Option(20000, "--customers", help="How many customers."),
    seed: int = typer.Option(42, "--seed", help="Same seed, same merchant."),
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Build a believable demo merchant (Faker zh_CN) through the importers."""
    summary = _load_demo(customers, seed, quiet=json_output)
    if json_output:
        print_json(summary)


def _load_demo(customers: int, seed: int, quiet: bool = False) -> dict:
    import tempfile

    from siyu.demo import build_demo

    say = (lambda _line: None) if quiet else (lambda line: console.print(f"  {line}"))
    if not quiet:
        console.print(f"loading the demo merchant ({customers:,} customers, seed {seed}) …")
    with tempfile.TemporaryDirectory() as folder, unit_of_work() as session:
        summary = build_demo(
            session, customers=customers, seed=seed, workdir=Path(folder), progress=say
        )
    if not quiet:
        platforms = ", ".join(f"{name} {count:,}" for name, count in summary["platforms"].items())
        console.print(
            f"demo merchant loaded: {summary['contacts']:,} contacts, {summary['orders']:,} "
            f"orders ({platforms}), {summary['merges']:,} merges",
            highlight=False,
        )
    return summary


@app.command()
def serve(
    host: str = typer.Option(None, help="Interface to listen on (default 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default 8000)."),
    worker: bool = typer.Option(True, help="Run the job worker in this process too."),
) -> None:
    """Serve the API (and console) with an in-process job worker."""
    import uvicorn

    from siyu.api.app import create_app
    from siyu.worker.runner import start_in_thread

    settings = get_settings()
    engine = get_engine()
    if not is_initialised(engine):
        raise SiyuError("the database has no schema yet: run `siyu init` first")
    stop = None
    if worker and settings.run_worker:
        _thread, stop = start_in_thread(engine)
    host, port = host or settings.host, port or settings.port
    console.print(
        f"Siyu is serving on http://{host}:{port}  (API docs: http://{host}:{port}/api/docs)\n"
        f"Console: log in at http://{host}:{port}/login with the admin login `siyu init` printed "
        "(forgot it? .venv/bin/siyu staff password admin).\n"
        "Sign in to the API with a key: .venv/bin/siyu apikey create NAME --scope read "
        "(then send `Authorization: Bearer <key>`). Ctrl-C stops the server.",
        highlight=False,
    )
    application = create_app()
    # Everything built so far (modules, routes, templates) lives as long as the server: moved out
    # of the collector's reach, full collections stop rescanning it between requests, which
    # otherwise shows up as occasional 100-200 ms pauses.
    gc.collect()
    gc.freeze()
    try:
        uvicorn.run(application, host=host, port=port, log_level="warning")
    finally:
        if stop:
            stop.set()


@app.command("worker")
def worker_command() -> None:
    """Run a job worker (any number may run against PostgreSQL)."""
    import signal
    import threading

    from siyu.worker.runner import run_forever

    stop = threading.Event()

    def finish(signum: int, _frame: object) -> None:
        # Graceful: the batch being sent is sent and recorded, then the worker leaves.
        console.print(f"{signal.Signals(signum).name}: finishing the current work, then stopping")
        stop.set()

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    console.print("worker running; Ctrl-C or SIGTERM stops it")
    run_forever(get_engine(), stop)
    console.print("worker stopped")


def run() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()


__all__ = ["Actor", "app", "run"]


if __name__ == "__main__":
    run()
