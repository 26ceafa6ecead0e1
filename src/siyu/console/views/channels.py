"""Channels in the console: the configured ones, adding one of any registered kind through a
form made from its schema, and switching one on or off."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from siyu.console.labels import N_
from siyu.console.page import Page, SignedIn
from siyu.console.views import channel_form
from siyu.engage import channel_service
from siyu.engage.channels import registry
from siyu.engage.models import EngageChannel
from siyu.errors import Conflict, Forbidden, Invalid, NotFound
from siyu.staff.permissions import ACTIONS, allow

router = APIRouter()

# Service messages about the channel's name, shown next to the name field.
NAME_MESSAGES = (N_("a channel's name is 1 to 120 characters"),)
FIELD_KINDS = {
    "text": N_("text"),
    "secret": N_("environment variable name"),
    "integer": N_("whole number"),
    "number": N_("number"),
    "boolean": N_("yes or no"),
    "list": N_("comma-separated list"),
    "select": N_("one of the choices"),
    "json": N_("JSON"),
}


def may_reach(page: Page) -> bool:
    return "reach" in ACTIONS.get(page.actor.role, frozenset())


def _kinds() -> list[dict[str, Any]]:
    return [
        {"kind": kind, "label": cls.label, "capabilities": cls.capabilities}
        for kind, cls in sorted(registry.channels().items())
    ]


@router.get("/channels")
def list_page(page: SignedIn) -> Response:
    allow(page.actor, "read")
    rows = [
        {
            **channel_service.channel_dict(channel),
            "settings": channel_form.shown_settings(channel.config or {}),
        }
        for channel in channel_service.list_channels(page.session)
    ]
    return page.render("channels/list.html", rows=rows, kinds=_kinds(), may_reach=may_reach(page))


def _render_form(
    page: Page,
    kind: str | None,
    *,
    name: str = "",
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    cls = registry.channels().get(kind or "")
    return page.render(
        "channels/new.html",
        status=status,
        kinds=_kinds(),
        kind=kind if cls else None,
        label=cls.label if cls else "",
        fields=channel_form.config_fields(cls) if cls else [],
        field_kinds=FIELD_KINDS,
        name=name,
        values=values,
        errors=errors or {},
        error=error,
    )


@router.get("/channels/new")
def new_page(page: SignedIn, kind: str = "") -> Response:
    if not may_reach(page):
        raise Forbidden(page.gettext("Your role may not change channels."))
    return _render_form(page, kind or None)


@router.post("/channels/new")
async def new_post(page: SignedIn, request: Request) -> Response:
    form = await request.form()
    kind = str(form.get("kind") or "")
    name = str(form.get("name") or "").strip()
    cls = registry.channels().get(kind)
    if cls is None:
        return _render_form(page, None, error=page.gettext("Choose a kind of channel."), status=422)
    fields = channel_form.config_fields(cls)
    config, typed = channel_form.form_config(fields, form)
    try:
        # A savepoint: nothing of a refused channel is kept, the request's transaction is.
        with page.session.begin_nested():
            channel = channel_service.add_channel(
                page.session, actor=page.actor, kind=kind, name=name or None, config=config
            )
    except (Invalid, Conflict) as problem:
        errors, rest = channel_form.field_errors(kind, problem.message, {f.name for f in fields})
        if isinstance(problem, Conflict) or problem.message in NAME_MESSAGES:
            errors, rest = {"name": page.gettext(problem.message)}, None
        return _render_form(
            page, kind, name=name, values=typed, errors=errors, error=rest, status=422
        )
    return page.redirect(
        "/channels", flash=page.gettext("Channel %(name)s added.", name=channel.name)
    )


def _find(page: Page, channel_id: int) -> EngageChannel:
    channel = page.session.get(EngageChannel, channel_id)
    if channel is None:
        raise NotFound(page.gettext("There is no such channel."))
    return channel


@router.post("/channels/{channel_id}/switch")
async def switch(page: SignedIn, request: Request, channel_id: int) -> Response:
    channel = _find(page, channel_id)
    enabled = str((await request.form()).get("enabled")) == "1"
    channel_service.update_channel(page.session, actor=page.actor, channel=channel, enabled=enabled)
    message = (
        page.gettext("Channel %(name)s switched on.", name=channel.name)
        if enabled
        else page.gettext("Channel %(name)s switched off.", name=channel.name)
    )
    return page.redirect("/channels", flash=message)
