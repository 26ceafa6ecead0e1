"""Journeys in the console: the list with counts, ready journeys one click away, and the
builder: the ordered steps with their branches, each edited in place, with problems shown at
the step they belong to, statistics beside each step, and a JSON tab for power users.

The builder carries the definition as JSON in a hidden field and each step's inputs by path
(`s:steps[2].yes[0]:duration`); every button posts the whole form, so it works without
JavaScript, and with HTMX the editor is redrawn in place.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from starlette.datastructures import FormData

from siyu.console.labels import N_
from siyu.console.page import Page, SignedIn
from siyu.engage.journeys import ready, service
from siyu.engage.journeys.definition import STEP_TYPES, TRIGGER_TYPES, DefinitionInvalid, Problem
from siyu.engage.journeys.models import EngageJourney
from siyu.engage.models import EngageChannel
from siyu.errors import Forbidden, NotFound, SiyuError
from siyu.segments.models import Segment

router = APIRouter()

STATES = {
    "draft": N_("Draft"),
    "active": N_("Active"),
    "paused": N_("Paused"),
    "archived": N_("Archived"),
}
TRIGGERS = {
    "segment_entered": N_("Enters a segment"),
    "segment_exited": N_("Leaves a segment"),
    "event": N_("An event happens"),
    "order_placed": N_("Places an order"),
    "form_submitted": N_("Submits a form"),
    "date_trait": N_("A yearly date (birthday)"),
    "fixed_date": N_("At a fixed moment"),
}
STEPS = {
    "send": N_("Send a message"),
    "wait": N_("Wait"),
    "wait_until": N_("Wait until"),
    "branch": N_("If … then … otherwise"),
    "tag_add": N_("Add a tag"),
    "tag_remove": N_("Remove a tag"),
    "assign_owner": N_("Assign an owner"),
    "webhook": N_("Call a webhook"),
    "issue_coupon": N_("Issue a coupon"),
    "exit": N_("Leave the journey"),
}
RE_ENTRY = {
    "never": N_("Once per customer"),
    "always": N_("Again after each walk"),
    "after": N_("Again after some days"),
}
READY_NAMES = {
    "welcome": N_("Welcome series for new leads"),
    "win_back": N_("Win back customers at risk"),
    "repurchase": N_("Reorder reminder at each buyer's pace"),
}
# The inputs each step type has, beside its title; plus_usual_gap is a checkbox.
STEP_FIELDS = {
    "send": ("channel_id", "category", "subject", "body", "template_code"),
    "wait": ("duration",),
    "wait_until": ("at", "field", "plus_usual_gap", "offset", "time"),
    "branch": ("condition",),
    "tag_add": ("tag",),
    "tag_remove": ("tag",),
    "assign_owner": ("owner",),
    "webhook": ("channel_id", "body"),
    "issue_coupon": ("coupon",),
    "exit": ("reason",),
}
FIELD_LABELS = {
    "channel_id": N_("Channel"),
    "category": N_("Kind of message"),
    "subject": N_("Subject"),
    "body": N_("Message"),
    "template_code": N_("Provider template code"),
    "duration": N_("How long (e.g. 2d, 12h)"),
    "at": N_("Moment (ISO time with zone)"),
    "field": N_("From the customer's date"),
    "plus_usual_gap": N_("Plus their usual days between orders"),
    "offset": N_("Offset (e.g. -3d)"),
    "time": N_("At time of day (HH:MM)"),
    "condition": N_("Condition (segment language)"),
    "tag": N_("Tag"),
    "owner": N_("Staff login, or round_robin"),
    "coupon": N_("Coupon name"),
    "reason": N_("Reason"),
    "title": N_("Title"),
}
TRIGGER_FIELDS = ("segment_id", "name", "form_id", "trait", "days_before", "hour", "at", "query")
INTEGERS = {"channel_id", "segment_id", "form_id", "days_before", "hour"}
BLANK = {"trigger": {"type": "segment_entered"}, "re_entry": "never", "steps": []}
_PATH = re.compile(r"(steps|yes|no)\[(\d+)\]")
_STEP_PATH = re.compile(r"^steps\[\d+\](?:\.(?:yes|no)\[\d+\])*")


# ---------------------------------------------------------------- the list


@router.get("/journeys")
def list_page(page: SignedIn) -> Response:
    journeys = service.list_journeys(page.session, actor=page.actor)
    counts = service.counts(page.session)
    channels = _channels(page)
    return page.render(
        "journeys/list.html",
        journeys=journeys,
        counts=counts,
        states=STATES,
        triggers=TRIGGERS,
        ready=[(key, READY_NAMES[key]) for key in ready.READY],
        channels=channels,
        may_edit=service.may_edit(page.actor),
    )


@router.post("/journeys/ready")
async def ready_post(page: SignedIn, request: Request) -> Response:
    form = await request.form()
    try:
        channel_id = int(str(form.get("channel_id") or "0"))
        journey = ready.create_ready(
            page.session, actor=page.actor, key=str(form.get("key") or ""), channel_id=channel_id
        )
    except (SiyuError, ValueError) as error:
        message = error.message if isinstance(error, SiyuError) else str(error)
        return page.redirect("/journeys", flash=message, level="error")
    return page.redirect(
        f"/journeys/{journey.id}",
        flash=page.gettext("Made as a draft: read it, then switch it on."),
    )


# ---------------------------------------------------------------- the builder


def _channels(page: Page) -> list[tuple[int, str, bool]]:
    rows = page.session.execute(
        select(EngageChannel.id, EngageChannel.name, EngageChannel.enabled).order_by(
            EngageChannel.name
        )
    )
    return [(i, n, e) for i, n, e in rows]


def _find(page: Page, journey_id: int) -> EngageJourney:
    journey = page.session.get(EngageJourney, journey_id)
    if journey is None:
        raise NotFound(page.gettext("There is no such journey."))
    return journey


def locate(definition: dict[str, Any], path: str) -> tuple[list[Any], int]:
    """The list a step path points into, and its index there."""
    parts = _PATH.findall(path)
    if not parts:
        raise KeyError(path)
    container: Any = definition
    for name, index in parts[:-1]:
        container = container[name][int(index)]
    name, index = parts[-1]
    return container.setdefault(name, []), int(index)


def _new_id(definition: dict[str, Any], kind: str) -> str:
    used = set(re.findall(r'"id":\s*"([^"]*)"', json.dumps(definition)))
    number = 1
    while f"{kind}_{number}" in used:
        number += 1
    return f"{kind}_{number}"


def _new_step(
    definition: dict[str, Any], kind: str, channels: list[tuple[int, str, bool]]
) -> dict[str, Any]:
    step: dict[str, Any] = {"id": _new_id(definition, kind), "type": kind}
    channel = channels[0][0] if channels else None
    defaults: dict[str, dict[str, Any]] = {
        "send": {"channel_id": channel, "body": ""},
        "wait": {"duration": "1d"},
        "wait_until": {"time": "10:00"},
        "branch": {"condition": "", "yes": [], "no": []},
        "tag_add": {"tag": ""},
        "tag_remove": {"tag": ""},
        "assign_owner": {"owner": "round_robin"},
        "webhook": {"channel_id": channel},
        "issue_coupon": {"coupon": ""},
        "exit": {},
    }
    return {**step, **{k: v for k, v in defaults[kind].items() if v is not None}}


class Builder:
    """What the builder form holds: name, description, the definition, the tab shown."""

    def __init__(
        self, name: str = "", description: str = "", definition: dict[str, Any] | None = None
    ) -> None:
        self.name, self.description = name, description
        self.definition: dict[str, Any] = json.loads(json.dumps(definition or BLANK))
        self.mode = "builder"
        self.json_text = ""
        self.error: str | None = None

    @classmethod
    def posted(cls, form: FormData) -> Builder:
        builder = cls(str(form.get("name") or ""), str(form.get("description") or ""))
        builder.mode = "json" if form.get("mode") == "json" else "builder"
        if builder.mode == "json":
            builder.json_text = str(form.get("json") or "")
            try:
                loaded = json.loads(builder.json_text)
                if not isinstance(loaded, dict):
                    raise ValueError("not an object")
                builder.definition = loaded
            except ValueError as error:
                builder.error = f"JSON: {error}"
            return builder
        try:
            builder.definition = json.loads(str(form.get("definition") or "{}"))
        except ValueError:
            builder.definition = json.loads(json.dumps(BLANK))
        builder._apply_trigger(form)
        builder._apply_steps(form)
        return builder

    def _apply_trigger(self, form: FormData) -> None:
        kind = str(form.get("trigger_type") or "segment_entered")
        trigger: dict[str, Any] = {"type": kind}
        for name in TRIGGER_FIELDS:
            value = str(form.get(f"trigger_{name}") or "").strip()
            if value:
                trigger[name] = _typed(name, value)
        self.definition["trigger"] = trigger
        mode = str(form.get("re_entry") or "never")
        days = str(form.get("re_entry_days") or "").strip()
        self.definition["re_entry"] = (
            {"mode": "after", "days": _typed("days", days) if days else None}
            if mode == "after"
            else mode
        )
        if self.definition["re_entry"] == {"mode": "after", "days": None}:
            self.definition["re_entry"] = {"mode": "after"}
        goal = str(form.get("goal") or "").strip()
        self.definition["goal"] = goal or None
        self.definition["goal_new_order"] = "1" in form.getlist("goal_new_order")
        self.definition = {k: v for k, v in self.definition.items() if v is not None}

    def _apply_steps(self, form: FormData) -> None:
        for key in {k for k in form if k.startswith("s:")}:
            _prefix, path, name = key.split(":", 2)
            try:
                steps, index = locate(self.definition, path)
                step = steps[index]
            except (KeyError, IndexError, TypeError):
                continue
            values = [str(v) for v in form.getlist(key)]
            if name == "plus_usual_gap":
                step[name] = "1" in values
                continue
            value = values[-1].strip() if name not in ("body", "subject") else values[-1]
            if value.strip():
                step[name] = _typed(name, value)
            else:
                step.pop(name, None)

    def act(self, action: str, channels: list[tuple[int, str, bool]]) -> None:
        """Add, remove or move a step: `add:<list path>:<type>`, `remove:<path>`, `up:<path>`,
        `down:<path>`; a list path is `steps` or a branch's `steps[1].yes`."""
        verb, _sep, rest = action.partition(":")
        if verb == "add":
            where, _sep, kind = rest.rpartition(":")
            if kind not in STEP_TYPES:
                return
            if where == "steps":
                target = self.definition.setdefault("steps", [])
            else:
                branch_path, _dot, side = where.rpartition(".")
                steps, index = locate(self.definition, branch_path)
                target = steps[index].setdefault(side, [])
            target.append(_new_step(self.definition, kind, channels))
            return
        if verb in ("remove", "up", "down"):
            try:
                steps, index = locate(self.definition, rest)
            except (KeyError, IndexError, TypeError):
                return
            if index >= len(steps):
                return
            if verb == "remove":
                del steps[index]
            elif verb == "up" and index > 0:
                steps[index - 1], steps[index] = steps[index], steps[index - 1]
            elif verb == "down" and index + 1 < len(steps):
                steps[index + 1], steps[index] = steps[index], steps[index + 1]


def _typed(name: str, value: str) -> Any:
    if name in INTEGERS or name == "days":
        try:
            return int(value)
        except ValueError:
            return value  # the check names it
    return value


def _problems_by_path(problems: list[Problem]) -> dict[str, list[Problem]]:
    """Each problem at the deepest step (or section) its path starts with."""
    found: dict[str, list[Problem]] = {}
    for problem in problems:
        match = _STEP_PATH.match(problem.path)
        if match:
            key = match.group(0)
        elif problem.path.startswith("trigger"):
            key = "trigger"
        else:
            key = ""
        found.setdefault(key, []).append(problem)
    return found


def _render(
    page: Page, builder: Builder, journey: EngageJourney | None, status: int = 200
) -> Response:
    _checked, problems = service.validate(page.session, builder.definition)
    stats = None
    if journey is not None:
        try:
            stats = {row["step"]: row for row in service.stats(page.session, journey)["steps"]}
        except SiyuError:
            stats = None
    segments = list(page.session.execute(select(Segment.id, Segment.name).order_by(Segment.name)))
    return page.render(
        "journeys/builder.html",
        status=status,
        builder=builder,
        journey=journey,
        definition=builder.definition,
        definition_json=json.dumps(builder.definition, ensure_ascii=False),
        pretty_json=builder.json_text
        or json.dumps(builder.definition, ensure_ascii=False, indent=2),
        problems=_problems_by_path(problems),
        valid=not problems,
        stats=stats,
        states=STATES,
        triggers=TRIGGERS,
        trigger_types=TRIGGER_TYPES,
        steps=STEPS,
        step_fields=STEP_FIELDS,
        field_labels=FIELD_LABELS,
        re_entry=RE_ENTRY,
        channels=_channels(page),
        segments=segments,
        action=f"/journeys/{journey.id}" if journey else "/journeys/new",
        may_edit=service.may_edit(page.actor),
    )


@router.get("/journeys/new")
def new_page(page: SignedIn) -> Response:
    if not service.may_edit(page.actor):
        raise Forbidden(page.gettext("Your role may not create journeys."))
    return _render(page, Builder(), None)


@router.get("/journeys/{journey_id}")
def journey_page(page: SignedIn, journey_id: int) -> Response:
    journey = _find(page, journey_id)
    return _render(page, Builder(journey.name, journey.description, journey.definition), journey)


@router.post("/journeys/new")
async def new_post(page: SignedIn, request: Request) -> Response:
    return await _post(page, request, None)


@router.post("/journeys/{journey_id}")
async def journey_post(page: SignedIn, request: Request, journey_id: int) -> Response:
    return await _post(page, request, _find(page, journey_id))


async def _post(page: Page, request: Request, journey: EngageJourney | None) -> Response:
    if not service.may_edit(page.actor):
        raise Forbidden(page.gettext("Your role may not change journeys."))
    form = await request.form()
    builder = Builder.posted(form)
    action = str(form.get("action") or "refresh")
    if action == "to_json":
        builder.mode, builder.json_text = "json", ""
    elif action == "to_builder" and builder.error is None:
        builder.mode = "builder"
    elif action == "save":
        return _save(page, builder, journey)
    elif builder.mode == "builder":
        builder.act(action, _channels(page))
    return _render(page, builder, journey, status=422 if builder.error else 200)


def _save(page: Page, builder: Builder, journey: EngageJourney | None) -> Response:
    if builder.error:
        return _render(page, builder, journey, status=422)
    try:
        if journey is None:
            journey = service.create_journey(
                page.session,
                actor=page.actor,
                name=builder.name,
                description=builder.description,
                definition=builder.definition,
            )
        else:
            service.update_journey(
                page.session,
                actor=page.actor,
                journey=journey,
                name=builder.name,
                description=builder.description,
                definition=builder.definition,
            )
    except DefinitionInvalid:
        builder.error = page.gettext("Not saved: fix the problems marked below.")
        return _render(page, builder, journey, status=422)
    except SiyuError as error:
        builder.error = error.message
        return _render(page, builder, journey, status=422)
    return page.redirect(f"/journeys/{journey.id}", flash=page.gettext("Journey saved."))


@router.post("/journeys/{journey_id}/activate")
def activate_post(page: SignedIn, journey_id: int) -> Response:
    journey = _find(page, journey_id)
    try:
        service.activate(page.session, actor=page.actor, journey=journey)
    except DefinitionInvalid:
        return page.redirect(
            f"/journeys/{journey_id}",
            flash=page.gettext("It cannot be switched on yet: fix the problems marked below."),
            level="error",
        )
    return page.redirect(f"/journeys/{journey_id}", flash=page.gettext("The journey is on."))


@router.post("/journeys/{journey_id}/pause")
def pause_post(page: SignedIn, journey_id: int) -> Response:
    journey = _find(page, journey_id)
    service.pause(page.session, actor=page.actor, journey=journey)
    return page.redirect(f"/journeys/{journey_id}", flash=page.gettext("The journey is paused."))
