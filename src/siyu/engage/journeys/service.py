"""Journeys: create, check, change, switch on and off, and what happened at every step.

A draft may be saved as soon as its shape is right; everything it refers to (segments,
channels, tags, staff, conditions) is checked by `validate`, and a journey that does not pass
cannot be switched on. Changing an active journey bumps its version; contacts standing at a
step that is gone leave with the reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from siyu.audit.service import record
from siyu.contacts.tags import find_tag, parse_tag
from siyu.db.types import utcnow
from siyu.engage.journeys.definition import (
    AssignOwnerStep,
    BranchStep,
    Definition,
    DefinitionInvalid,
    FixedDateTrigger,
    FormTrigger,
    IssueCouponStep,
    Problem,
    SegmentTrigger,
    SendStep,
    TagStep,
    WebhookStep,
    dump,
    iter_steps,
    plan,
    read,
)
from siyu.engage.journeys.models import (
    LIVE_STATES,
    EngageJourney,
    EngageJourneyEnrolment,
    EngageJourneyStepLog,
)
from siyu.engage.models import EngageChannel, EngageContent, EngageMessage
from siyu.errors import Conflict, Forbidden, Invalid, NotFound
from siyu.growth.coupons import service as coupons
from siyu.ingest.inbound.models import InboundForm
from siyu.kit.actor import Actor
from siyu.kit.pagination import is_id
from siyu.kit.timeutil import isoformat
from siyu.segments.checks import QueryError, nearest
from siyu.segments.compiler import compile_query
from siyu.segments.language import parse
from siyu.segments.models import Segment
from siyu.staff.models import StaffUser
from siyu.staff.permissions import allow

MAX_NAME = 200
EDITORS = ("admin", "operator")
# Outcomes that mean the enrolment went through the step and on.
PASSED = (
    "sent",
    "already_sent",
    "waited",
    "branch_yes",
    "branch_no",
    "tagged",
    "untagged",
    "assigned",
    "coupon_issued",
    "coupon_already_issued",
    "coupon_not_issued",
)
# The JSON template a webhook step posts when it gives none of its own.
WEBHOOK_BODY = (
    '{"journey": "{{ journey.name }}", "step": "{{ step }}", '
    '"contact_id": {{ contact.id }}, "name": {{ contact.name|tojson }}}'
)
_templates = SandboxedEnvironment()


def may_edit(actor: Actor) -> bool:
    return actor.role in EDITORS


def require_editor(actor: Actor) -> None:
    if not may_edit(actor):
        raise Forbidden(f"the {actor.role} role may not create or change journeys")


# ---------------------------------------------------------------- checking


def validate(
    session: Session, data: Any, *, now: datetime | None = None
) -> tuple[Definition | None, list[Problem]]:
    """The definition read, and every problem that keeps it from being switched on."""
    try:
        definition = read(data)
    except DefinitionInvalid as error:
        return None, error.problems
    now = now or utcnow()
    problems: list[Problem] = []
    steps = plan(definition)
    problems += [
        Problem(path, "this step id is used twice; ids must be unique") for path in steps.duplicates
    ]
    if not definition.steps:
        problems.append(Problem("steps", "a journey needs at least one step"))
    problems += _trigger_problems(session, definition, now)
    if definition.goal is not None:
        problems += _condition_problems(session, definition.goal, "goal")
    for path, step in iter_steps(definition.steps):
        problems += _step_problems(session, step, path)
    return definition, problems


def _trigger_problems(session: Session, definition: Definition, now: datetime) -> list[Problem]:
    trigger = definition.trigger
    found: list[Problem] = []
    segment_id = getattr(trigger, "segment_id", None)
    segment_types = SegmentTrigger | FixedDateTrigger
    if isinstance(trigger, segment_types) and segment_id and not session.get(Segment, segment_id):
        found.append(Problem("trigger.segment_id", f"there is no segment {segment_id}"))
    form_id = trigger.form_id if isinstance(trigger, FormTrigger) else None
    if form_id is not None and session.get(InboundForm, form_id) is None:
        found.append(Problem("trigger.form_id", f"there is no form {form_id}"))
    if isinstance(trigger, FixedDateTrigger):
        if trigger.query:
            found += _condition_problems(session, trigger.query, "trigger.query")
        if trigger.at <= now:
            found.append(Problem("trigger.at", "this moment has passed; pick one to come"))
    return found


def _condition_problems(session: Session, text: str, path: str) -> list[Problem]:
    try:
        compile_query(session, parse(text), few=True)
    except QueryError as error:
        message = error.message
        if error.line is not None:
            message = message.split(": ", 1)[-1]
        return [Problem(path, message, line=error.line, column=error.column)]
    return []


def _step_problems(session: Session, step: Any, path: str) -> list[Problem]:
    found: list[Problem] = []
    if isinstance(step, BranchStep):
        found += _condition_problems(session, step.condition, f"{path}.condition")
    if isinstance(step, SendStep | WebhookStep):
        channel = session.get(EngageChannel, step.channel_id)
        if channel is None:
            found.append(Problem(f"{path}.channel_id", f"there is no channel {step.channel_id}"))
        elif not channel.enabled:
            found.append(Problem(f"{path}.channel_id", f"channel {channel.name!r} is switched off"))
        elif isinstance(step, WebhookStep) and channel.kind != "webhook":
            found.append(
                Problem(f"{path}.channel_id", f"channel {channel.name!r} is no webhook channel")
            )
        texts = {"body": step.body or ""}
        if isinstance(step, SendStep):
            texts["subject"] = step.subject or ""
            texts.update({f"params.{k}": v for k, v in step.params.items()})
        for name, source in texts.items():
            try:
                _templates.parse(source)
            except TemplateSyntaxError as error:
                found.append(
                    Problem(f"{path}.{name}", f"template error: {error.message}", line=error.lineno)
                )
    if isinstance(step, TagStep):
        try:
            parse_tag(step.tag)
        except Invalid as error:
            found.append(Problem(f"{path}.tag", error.message))
        else:
            # A tag to add is made when first given; one to take away must exist.
            if step.type == "tag_remove" and find_tag(session, step.tag) is None:
                found.append(Problem(f"{path}.tag", f"there is no tag {step.tag!r}"))
    if isinstance(step, IssueCouponStep):
        try:
            coupon = coupons.get_definition(session, step.coupon)
        except NotFound as error:
            found.append(Problem(f"{path}.coupon", error.message))
        else:
            if coupon.state != "active":
                found.append(Problem(f"{path}.coupon", f"coupon {coupon.name} is {coupon.state}"))
    if isinstance(step, AssignOwnerStep):
        active = list(
            session.scalars(select(StaffUser.login).where(StaffUser.disabled_at.is_(None)))
        )
        if step.owner == "round_robin":
            if not active:
                found.append(Problem(f"{path}.owner", "there is no active staff member"))
        elif step.owner not in active:
            suggestion = nearest(step.owner, active) if active else None
            hint = f"; did you mean {suggestion!r}?" if suggestion else ""
            found.append(Problem(f"{path}.owner", f"{step.owner!r} is no active staff login{hint}"))
    return found


def check_or_raise(session: Session, data: Any, *, now: datetime | None = None) -> Definition:
    definition, problems = validate(session, data, now=now)
    if problems or definition is None:
        raise DefinitionInvalid(problems)
    return definition


# ---------------------------------------------------------------- keeping


def _name(session: Session, name: str, keep: EngageJourney | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise Invalid("a journey needs a name")
    if len(name) > MAX_NAME:
        raise Invalid(f"a journey name has at most {MAX_NAME} characters")
    taken = session.scalar(select(EngageJourney).where(EngageJourney.name == name))
    if taken is not None and taken is not keep:
        raise Conflict(f"there is already a journey named {name!r}")
    return name


def create_journey(
    session: Session,
    *,
    actor: Actor,
    name: str,
    definition: dict[str, Any],
    description: str = "",
) -> EngageJourney:
    """A new draft; its shape must be right, the rest is checked when it is switched on."""
    require_editor(actor)
    journey = EngageJourney(
        name=_name(session, name),
        description=description or "",
        state="draft",
        definition=dump(read(definition)),
        version=1,
        created_by=actor.label[:64],
    )
    session.add(journey)
    session.flush()
    record(session, actor=actor.label, action="journey.create", subject_type="journey",
           subject_id=journey.id, name=journey.name)  # fmt: skip
    return journey


def get_journey(session: Session, ref: str | int) -> EngageJourney:
    text = str(ref).strip()
    if text.isdigit() and text.isascii() and is_id(int(text)):
        found = session.get(EngageJourney, int(text))
        if found is not None:
            return found
    found = session.scalar(select(EngageJourney).where(EngageJourney.name == text))
    if found is None:
        names = list(session.scalars(select(EngageJourney.name)))
        suggestion = nearest(text, names) if names else None
        raise NotFound(
            f"no journey {text!r}" + (f"; did you mean {suggestion!r}?" if suggestion else "")
        )
    return found


def list_journeys(session: Session, *, actor: Actor) -> list[EngageJourney]:
    allow(actor, "read")
    return list(session.scalars(select(EngageJourney).order_by(EngageJourney.name)))


def update_journey(
    session: Session,
    *,
    actor: Actor,
    journey: EngageJourney,
    name: str | None = None,
    description: str | None = None,
    definition: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> EngageJourney:
    """Change a journey. A running one must stay valid; its contents follow at once, and those
    standing at a removed step leave."""
    require_editor(actor)
    now = now or utcnow()
    if journey.state == "archived":
        raise Conflict("an archived journey cannot be changed")
    if name is not None:
        journey.name = _name(session, name, keep=journey)
    if description is not None:
        journey.description = description
    if definition is not None:
        checked = (
            check_or_raise(session, definition, now=now)
            if journey.state in ("active", "paused")
            else read(definition)
        )
        new = dump(checked)
        if new != journey.definition:
            journey.definition = new
            journey.version += 1
            if journey.state in ("active", "paused"):
                sync_contents(session, journey)
                exit_removed(session, journey, now)
    journey.updated_at = now
    session.flush()
    record(session, actor=actor.label, action="journey.update", subject_type="journey",
           subject_id=journey.id, version=journey.version)  # fmt: skip
    return journey


def exit_removed(session: Session, journey: EngageJourney, now: datetime) -> int:
    """Enrolments standing at a step the journey no longer has leave, saying which."""
    kept = set(plan(read(journey.definition)).steps)
    e = EngageJourneyEnrolment
    stranded = session.execute(
        select(e.id, e.step).where(
            e.journey_id == journey.id, e.state.in_(LIVE_STATES), e.step.is_not(None)
        )
    ).all()
    gone = [(i, step) for i, step in stranded if step not in kept]
    for enrolment_id, step in gone:
        session.execute(
            update(e)
            .where(e.id == enrolment_id)
            .values(
                state="exited",
                finished_at=now,
                wake_at=None,
                exit_reason=f"step {step} was removed from the journey",
            )
        )
    if gone:
        session.add_all(
            EngageJourneyStepLog(
                enrolment_id=i, journey_id=journey.id, step=step, outcome="exited", at=now
            )
            for i, step in gone
        )
        session.flush()
    return len(gone)


def sync_contents(session: Session, journey: EngageJourney) -> None:
    """One content row per send and webhook step, made or brought up to date."""
    definition = read(journey.definition)
    existing = {
        c.step: c
        for c in session.scalars(
            select(EngageContent).where(EngageContent.journey_id == journey.id)
        )
    }
    for _path, step in iter_steps(definition.steps):
        if not isinstance(step, SendStep | WebhookStep):
            continue
        content = existing.get(step.id)
        if content is None:
            content = EngageContent(journey_id=journey.id, step=step.id, name="journey")
            session.add(content)
        if isinstance(step, SendStep):
            content.subject, content.body = step.subject, step.body
            content.template_code, content.params = step.template_code, dict(step.params)
        else:
            content.subject, content.body = None, step.body or WEBHOOK_BODY
            content.template_code, content.params = None, {}
    session.flush()


def activate(
    session: Session, *, actor: Actor, journey: EngageJourney, now: datetime | None = None
) -> EngageJourney:
    """Switch on: only a journey that passes every check. Triggers count from now."""
    require_editor(actor)
    now = now or utcnow()
    if journey.state == "archived":
        raise Conflict("an archived journey cannot be switched on")
    if journey.state == "active":
        return journey
    check_or_raise(session, journey.definition, now=now)
    sync_contents(session, journey)
    journey.state, journey.activated_at, journey.updated_at = "active", now, now
    session.flush()
    record(session, actor=actor.label, action="journey.activate", subject_type="journey",
           subject_id=journey.id, version=journey.version)  # fmt: skip
    return journey


def pause(session: Session, *, actor: Actor, journey: EngageJourney) -> EngageJourney:
    """Stop enrolling and advancing; whoever is in waits where they are until switched on."""
    require_editor(actor)
    if journey.state != "active":
        raise Conflict(f"only an active journey can be paused; this one is {journey.state}")
    journey.state = "paused"
    session.flush()
    record(session, actor=actor.label, action="journey.pause", subject_type="journey",
           subject_id=journey.id)  # fmt: skip
    return journey


def archive(session: Session, *, actor: Actor, journey: EngageJourney) -> EngageJourney:
    require_editor(actor)
    now = utcnow()
    e = EngageJourneyEnrolment
    session.execute(
        update(e)
        .where(e.journey_id == journey.id, e.state.in_(LIVE_STATES))
        .values(state="exited", finished_at=now, wake_at=None, exit_reason="journey archived")
    )
    journey.state = "archived"
    session.flush()
    record(session, actor=actor.label, action="journey.archive", subject_type="journey",
           subject_id=journey.id)  # fmt: skip
    return journey


def delete_journey(session: Session, *, actor: Actor, journey: EngageJourney) -> None:
    """Only a journey nobody has entered; one with history is archived instead."""
    require_editor(actor)
    entered = session.scalar(
        select(func.count())
        .select_from(EngageJourneyEnrolment)
        .where(EngageJourneyEnrolment.journey_id == journey.id)
    )
    if entered:
        raise Conflict("contacts have entered this journey; archive it instead")
    used = session.scalar(select(EngageMessage.id).where(EngageMessage.journey_id == journey.id))
    if used is None:
        session.execute(delete(EngageContent).where(EngageContent.journey_id == journey.id))
    record(session, actor=actor.label, action="journey.delete", subject_type="journey",
           subject_id=journey.id, name=journey.name)  # fmt: skip
    session.delete(journey)
    session.flush()


# ---------------------------------------------------------------- reading


def counts(session: Session, journey_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    """Enrolments per journey and state, in one query."""
    e = EngageJourneyEnrolment
    query = select(e.journey_id, e.state, func.count()).group_by(e.journey_id, e.state)
    if journey_ids is not None:
        query = query.where(e.journey_id.in_(journey_ids))
    found: dict[int, dict[str, int]] = {}
    for journey_id, state, number in session.execute(query):
        found.setdefault(journey_id, {})[state] = int(number)
    return found


def describe(session: Session, journey: EngageJourney) -> dict[str, Any]:
    states = counts(session, [journey.id]).get(journey.id, {})
    return {
        "id": journey.id,
        "name": journey.name,
        "description": journey.description,
        "state": journey.state,
        "version": journey.version,
        "definition": journey.definition,
        "created_by": journey.created_by,
        "created_at": isoformat(journey.created_at),
        "updated_at": isoformat(journey.updated_at),
        "activated_at": isoformat(journey.activated_at),
        "enrolments": {"total": sum(states.values()), **states},
    }


def stats(session: Session, journey: EngageJourney) -> dict[str, Any]:
    """Per step, in reading order: entered, completed (went on), waiting now, sent, exited,
    goal reached, failed. Two grouped queries, whatever the number of contacts."""
    log = EngageJourneyStepLog
    outcomes: dict[str, dict[str, int]] = {}
    for step, outcome, number in session.execute(
        select(log.step, log.outcome, func.count())
        .where(log.journey_id == journey.id)
        .group_by(log.step, log.outcome)
    ):
        outcomes.setdefault(step, {})[outcome] = int(number)
    e = EngageJourneyEnrolment
    waiting: dict[str, int] = {}
    for step, number in session.execute(
        select(e.step, func.count())
        .where(e.journey_id == journey.id, e.state == "waiting")
        .group_by(e.step)
    ):
        waiting[step or ""] = int(number)
    steps = plan(read(journey.definition))
    rows = []
    for step_id, depth in steps.order:
        step = steps.steps[step_id]
        rows.append(
            {
                "step": step_id,
                "type": step.type,
                "title": step.title,
                "path": steps.paths[step_id],
                "depth": depth,
                "removed": False,
                **_step_counts(outcomes.get(step_id, {}), waiting.get(step_id, 0)),
            }
        )
    # Steps removed by an edit keep their history.
    for step_id in sorted(set(outcomes) - set(steps.steps)):
        rows.append(
            {
                "step": step_id,
                "type": None,
                "title": None,
                "path": None,
                "depth": 0,
                "removed": True,
                **_step_counts(outcomes[step_id], 0),
            }
        )
    states = counts(session, [journey.id]).get(journey.id, {})
    return {
        "journey_id": journey.id,
        "version": journey.version,
        "enrolments": {"total": sum(states.values()), **states},
        "steps": rows,
    }


def _step_counts(seen: dict[str, int], waiting: int) -> dict[str, int]:
    return {
        "entered": seen.get("entered", 0),
        "completed": sum(seen.get(outcome, 0) for outcome in PASSED),
        "waiting": waiting,
        "sent": seen.get("sent", 0),
        "branch_yes": seen.get("branch_yes", 0),
        "branch_no": seen.get("branch_no", 0),
        "exited": seen.get("exited", 0),
        "goal_reached": seen.get("goal_reached", 0),
        "failed": seen.get("failed", 0),
    }


def enrolments(
    session: Session,
    *,
    journey: EngageJourney,
    state: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Newest first, a page at a time: `before` is the last id of the previous page."""
    e = EngageJourneyEnrolment
    query = select(e).where(e.journey_id == journey.id)
    if state:
        query = query.where(e.state == state)
    if before:
        query = query.where(e.id < before)
    rows = session.scalars(query.order_by(e.id.desc()).limit(min(max(limit, 1), 500)))
    return [
        {
            "id": row.id,
            "contact_id": row.contact_id,
            "run": row.run,
            "state": row.state,
            "step": row.step,
            "wake_at": isoformat(row.wake_at),
            "entered_at": isoformat(row.entered_at),
            "finished_at": isoformat(row.finished_at),
            "exit_reason": row.exit_reason,
            "version": row.version,
        }
        for row in rows
    ]
