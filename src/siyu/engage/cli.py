"""`siyu channel add|list|enable|disable` and `siyu campaign send|create|start|check|stats|
list|show|pause|resume|cancel|test|resend-unknown`."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from siyu.cli.output import console, print_json
from siyu.config import get_settings
from siyu.db.session import unit_of_work
from siyu.engage import campaigns, channel_service
from siyu.engage.models import EngageCampaign
from siyu.errors import Invalid, NotFound
from siyu.kit.actor import Actor
from siyu.segments import service as segments_service

channel_app = typer.Typer(help="Channels messages go out through.", no_args_is_help=True)
campaign_app = typer.Typer(help="Campaigns: one send to a segment.", no_args_is_help=True)


class Tls(StrEnum):
    none = "none"
    starttls = "starttls"
    ssl = "ssl"


def _config_json(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise Invalid(f"--config: not JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(value, dict):
        raise Invalid('--config: a JSON object, e.g. \'{"url": "https://…"}\'')
    return value


@channel_app.command("add")
def channel_add(
    kind: str = typer.Argument(
        ..., help="email, aliyun_sms, tencent_sms, wecom, wechat_oa, webhook"
    ),
    name: str = typer.Option(None, "--name", help="A name of its own (default: the kind)."),
    smtp_host: str = typer.Option(None, "--smtp-host", help="email: the SMTP server."),
    smtp_port: int = typer.Option(None, "--smtp-port", help="email: its port."),
    user: str = typer.Option(None, "--user", help="email: the SMTP login."),
    password_env: str = typer.Option(
        None, "--password-env", help="email: the environment variable holding the password."
    ),
    tls: Tls = typer.Option(None, "--tls", help="email: none, starttls or ssl."),
    sender: str = typer.Option(None, "--from", help="email: the From address."),
    config: str = typer.Option(None, "--config", help="Other settings as a JSON object."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Add a channel. Secrets are never given here: name the variable that holds them."""
    settings = _config_json(config)
    email = {
        "host": smtp_host,
        "port": smtp_port,
        "user": user,
        "password_env": password_env,
        "tls": tls.value if tls else None,
        "from_address": sender,
    }
    given = {key: value for key, value in email.items() if value is not None}
    if given and kind != "email":
        raise Invalid(f"--smtp-host, --from and the like are for email channels, not {kind}")
    settings.update(given)
    with unit_of_work() as session:
        channel = channel_service.add_channel(
            session, actor=Actor.cli(), kind=kind, name=name, config=settings
        )
        data = channel_service.channel_dict(channel)
    if json_output:
        print_json(data)
    else:
        console.print(f"channel {data['id']} added: {data['name']} ({data['kind']})")


@channel_app.command("list")
def channel_list(json_output: bool = typer.Option(False, "--json")) -> None:
    """The channels, with their settings (secrets are only ever named, never stored)."""
    with unit_of_work() as session:
        rows = [channel_service.channel_dict(c) for c in channel_service.list_channels(session)]
    if json_output:
        print_json(rows)
        return
    table = Table("id", "name", "kind", "on", "settings")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["name"],
            row["kind"],
            "yes" if row["enabled"] else "no",
            json.dumps(row["config"], ensure_ascii=False),
        )
    console.print(table)


def _switch(ref: str, enabled: bool) -> None:
    with unit_of_work() as session:
        channel = channel_service.get_channel(session, ref)
        channel_service.update_channel(session, actor=Actor.cli(), channel=channel, enabled=enabled)
        console.print(f"channel {channel.name} is {'on' if enabled else 'off'}")


@channel_app.command("enable")
def channel_enable(ref: str = typer.Argument(..., help="Channel id or name.")) -> None:
    """Switch a channel on."""
    _switch(ref, True)


@channel_app.command("disable")
def channel_disable(ref: str = typer.Argument(..., help="Channel id or name.")) -> None:
    """Switch a channel off: its messages wait until it is on again."""
    _switch(ref, False)


# --- campaigns -----------------------------------------------------------------------------


def _read_file(path: Path | None, label: str) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise Invalid(f"{label} {path}: {error}") from None


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"--at {text!r}: an ISO time, e.g. 2026-12-24T10:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=get_settings().zone)


def _audience(session: Session, segment: str) -> dict[str, Any]:
    """A stored segment's name or id, else segment-language text."""
    try:
        return {"segment": segments_service.get_segment(session, segment)}
    except NotFound:
        return {"query": segment}


def _create(
    session: Session,
    *,
    name: str | None,
    segment: str,
    channel: str,
    subject: str | None,
    body: str | None,
    body_file: Path | None,
    template_code: str | None,
    params: str | None,
    category: str,
    throttle: int | None,
    at: str | None,
    conversion_days: int,
) -> EngageCampaign:
    text = _read_file(body_file, "--body-file") if body_file else body
    if text is None and template_code is None:
        raise Invalid("give the message: --body-file FILE (or --body TEXT, or --template-code)")
    chosen = channel_service.get_channel(session, channel)
    variant = {
        "name": "A",
        "percent": 100,
        "subject": subject,
        "body": text or "",
        "template_code": template_code,
        "params": _config_json(params),
    }
    return campaigns.create_campaign(
        session,
        actor=Actor.cli(),
        name=name or (subject or "campaign"),
        channel=chosen,
        variants=[variant],
        category=category,
        throttle_per_second=throttle,
        scheduled_at=_when(at),
        conversion_days=conversion_days,
        **_audience(session, segment),
    )


# The message and its settings: the same options for `send` and `create`.
_SEGMENT = typer.Option(..., "--segment", help="A segment's name or id, or a query.")
_CHANNEL = typer.Option(..., "--channel", help="Channel id, name or kind.")
_SUBJECT = typer.Option(None, "--subject", help="Email subject (a template).")
_BODY_FILE = typer.Option(None, "--body-file", help="The body (a template), UTF-8.")
_BODY = typer.Option(None, "--body", help="The body as text instead of a file.")
_TEMPLATE_CODE = typer.Option(None, "--template-code", help="SMS/OA template code.")
_PARAMS = typer.Option(None, "--params", help="Template parameters as JSON.")
_NAME = typer.Option(None, "--name", help="Campaign name (default: the subject).")
_CATEGORY = typer.Option("marketing", "--category", help="marketing or transactional.")
_THROTTLE = typer.Option(None, "--throttle", help="At most this many messages a second.")
_AT = typer.Option(None, "--at", help="Send at this time instead of now (ISO).")
_CONVERSION_DAYS = typer.Option(7, "--conversion-days", help="Attribution window in days.")


@campaign_app.command("send")
def campaign_send(
    segment: str = _SEGMENT,
    channel: str = _CHANNEL,
    subject: str = _SUBJECT,
    body_file: Path = _BODY_FILE,
    body: str = _BODY,
    template_code: str = _TEMPLATE_CODE,
    params: str = _PARAMS,
    name: str = _NAME,
    category: str = _CATEGORY,
    throttle: int = _THROTTLE,
    at: str = _AT,
    conversion_days: int = _CONVERSION_DAYS,
    json_output: bool = typer.Option(False, "--json", help='Print {"id", "recipients"}.'),
) -> None:
    """Create a campaign, check it and start it; the worker sends it."""
    options = locals()
    del options["json_output"]
    with unit_of_work() as session:
        campaign = _create(session, **options)
        report = campaigns.start(session, actor=Actor.cli(), campaign=campaign)
        result = {
            "id": campaign.id,
            "recipients": report["recipients"],
            "state": campaign.state,
            "scheduled_at": campaign.scheduled_at.isoformat() if campaign.scheduled_at else None,
            "warnings": report["warnings"],
        }
    if json_output:
        print_json(result)
        return
    console.print(
        f"campaign {result['id']} {result['state']}: {result['recipients']:,} recipients; "
        f"`siyu campaign stats {result['id']}` follows it",
        highlight=False,
    )
    for warning in result["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)


@campaign_app.command("create")
def campaign_create(
    segment: str = _SEGMENT,
    channel: str = _CHANNEL,
    subject: str = _SUBJECT,
    body_file: Path = _BODY_FILE,
    body: str = _BODY,
    template_code: str = _TEMPLATE_CODE,
    params: str = _PARAMS,
    name: str = _NAME,
    category: str = _CATEGORY,
    throttle: int = _THROTTLE,
    at: str = _AT,
    conversion_days: int = _CONVERSION_DAYS,
    json_output: bool = typer.Option(False, "--json"),
) -> None:
    """Create a draft campaign to check, test and start later."""
    options = locals()
    del options["json_output"]
    with unit_of_work() as session:
        data = campaigns.campaign_dict(session, _create(session, **options))
    if json_output:
        print_json(data)
    else:
        console.print(f"campaign {data['id']} created as a draft")


@campaign_app.command("check")
def campaign_check(
    campaign_id: int = typer.Argument(...), json_output: bool = typer.Option(False, "--json")
) -> None:
    """What would go wrong: missing variables (with the contacts affected), no unsubscribe
    link, an empty audience."""
    with unit_of_work() as session:
        report = campaigns.check(session, campaigns.get_campaign(session, campaign_id))
    if json_output:
        print_json(report)
        raise typer.Exit(0 if report["ok"] else 1)
    console.print(f"{report['recipients']:,} recipients", highlight=False)
    for error in report["errors"]:
        console.print(f"[red]error:[/red] {error}", highlight=False)
    for warning in report["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    if report["ok"]:
        console.print("ready to start")
    raise typer.Exit(0 if report["ok"] else 1)


@campaign_app.command("start")
def campaign_start(campaign_id: int = typer.Argument(...)) -> None:
    """Start a draft (or resume a paused campaign)."""
    with unit_of_work() as session:
        campaign = campaigns.get_campaign(session, campaign_id)
        report = campaigns.start(session, actor=Actor.cli(), campaign=campaign)
        console.print(
            f"campaign {campaign.id} {campaign.state}: "
            f"{report.get('recipients', campaign.recipients):,} recipients"
        )


def _act(campaign_id: int, action: str) -> None:
    with unit_of_work() as session:
        campaign = campaigns.get_campaign(session, campaign_id)
        if action == "pause":
            campaigns.pause(session, actor=Actor.cli(), campaign=campaign)
            console.print(f"campaign {campaign.id} paused")
        elif action == "resume":
            campaigns.resume(session, actor=Actor.cli(), campaign=campaign)
            console.print(f"campaign {campaign.id} {campaign.state}")
        elif action == "cancel":
            count = campaigns.cancel(session, actor=Actor.cli(), campaign=campaign)
            console.print(f"campaign {campaign.id} cancelled; {count:,} messages not sent")
        else:
            count = campaigns.resend_unknown(session, actor=Actor.cli(), campaign=campaign)
            console.print(f"{count:,} messages of unknown fate queued again")


@campaign_app.command("pause")
def campaign_pause(campaign_id: int = typer.Argument(...)) -> None:
    """Stop sending for now; `resume` carries on where it stopped."""
    _act(campaign_id, "pause")


@campaign_app.command("resume")
def campaign_resume(campaign_id: int = typer.Argument(...)) -> None:
    """Carry on sending a paused campaign."""
    _act(campaign_id, "resume")


@campaign_app.command("cancel")
def campaign_cancel(campaign_id: int = typer.Argument(...)) -> None:
    """Stop for good: what is not sent yet is never sent."""
    _act(campaign_id, "cancel")


@campaign_app.command("resend-unknown")
def campaign_resend_unknown(campaign_id: int = typer.Argument(...)) -> None:
    """Send again the messages a stopped worker may or may not have sent (some recipients may
    then get the message twice)."""
    _act(campaign_id, "resend")


@campaign_app.command("test")
def campaign_test(
    campaign_id: int = typer.Argument(...),
    to: str = typer.Option(..., "--to", help="The staff member's own address or number."),
    contact: str = typer.Option(None, "--contact", help="Write it as for this contact."),
    variant: str = typer.Option(None, "--variant", help="Which variant (default: the first)."),
) -> None:
    """Send one copy to staff, written as for a chosen customer."""
    with unit_of_work() as session:
        result = campaigns.test_send(
            session,
            actor=Actor.cli(),
            campaign=campaigns.get_campaign(session, campaign_id),
            address=to,
            contact_ref=contact,
            variant=variant,
        )
    if result["status"] != "sent":
        raise Invalid(f"the test was not sent: {result['reason']}")
    console.print(f"test sent to {to}")


@campaign_app.command("stats")
def campaign_stats(
    campaign_id: int = typer.Argument(...), json_output: bool = typer.Option(False, "--json")
) -> None:
    """Queued, sent, failed, suppressed (by rule), unknown, clicked, converted and revenue."""
    with unit_of_work() as session:
        data = campaigns.stats(session, campaigns.get_campaign(session, campaign_id))
    if json_output:
        print_json(data)
        return
    console.print(f"campaign {data['id']} {data['name']!r}: {data['state']}", highlight=False)
    table = Table(
        "variant",
        "recipients",
        "queued",
        "sent",
        "failed",
        "suppressed",
        "unknown",
        "clicked",
        "converted",
        "revenue ¥",
    )
    for row in [*data["variants"], {**data, "name": "all"}]:
        table.add_row(
            row["name"],
            *(
                f"{row[k]:,}"
                for k in (
                    "recipients",
                    "queued",
                    "sent",
                    "failed",
                    "suppressed",
                    "unknown",
                    "clicked",
                    "converted",
                )
            ),
            f"{row['revenue'] / 100:,.2f}",
        )
    console.print(table)
    for rule, count in sorted(data["suppressed_by_rule"].items()):
        console.print(f"  suppressed by {rule}: {count:,}", highlight=False)


@campaign_app.command("list")
def campaign_list(json_output: bool = typer.Option(False, "--json")) -> None:
    """The latest campaigns."""
    with unit_of_work() as session:
        rows = [campaigns.campaign_dict(session, c) for c in campaigns.list_campaigns(session)]
    if json_output:
        print_json(rows)
        return
    table = Table("id", "name", "state", "channel", "recipients", "started")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["name"],
            row["state"],
            (row["channel"] or {}).get("name", ""),
            f"{row['recipients']:,}",
            (row["started_at"] or "")[:16],
        )
    console.print(table)


@campaign_app.command("show")
def campaign_show(campaign_id: int = typer.Argument(...)) -> None:
    """A campaign's settings and variants, as JSON."""
    with unit_of_work() as session:
        print_json(campaigns.campaign_dict(session, campaigns.get_campaign(session, campaign_id)))
