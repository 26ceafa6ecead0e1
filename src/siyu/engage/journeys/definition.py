"""A journey's definition: its JSON shape (pydantic), and where each step leads.

    {"trigger": {"type": "segment_entered", "segment_id": 3},
     "re_entry": "never" | "always" | {"after_days": 30},
     "goal": "orders(within: 7d).count >= 1",      optional segment-language condition
     "goal_new_order": false,                      also reached by any order after entering
     "steps": [
       {"id": "hello", "type": "send", "channel_id": 1, "body": "你好 {{ contact.name }}"},
       {"id": "pause", "type": "wait", "duration": "2d"},
       {"id": "bought", "type": "branch", "condition": "order_count >= 1",
        "yes": [{"id": "done", "type": "exit"}],
        "no": [{"id": "nudge", "type": "send", "channel_id": 1, "body": "…"}]}]}

Shape errors name the place, e.g. `steps[2].yes[0].duration: not a duration …`; what the
shape cannot know (segments, channels, tags, conditions) is checked by journeys.service.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from siyu.errors import Invalid

_DURATION = re.compile(r"^\s*([+-]?)\s*(\d{1,5})\s*([mhdw])\s*$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
STEP_ID = r"^[A-Za-z0-9_-]{1,64}$"
# Contact date fields a wait_until may count from (traits.<name> holds an ISO date too).
DATE_FIELDS = ("last_order_at", "first_order_at", "created_at")
MAX_STEPS = 200
MAX_DURATION = timedelta(days=3 * 366)


def parse_duration(text: str, *, signed: bool = False) -> timedelta:
    """'3d' → 3 days; '12h', '30m', '2w'; with `signed`, '-3d' too."""
    match = _DURATION.match(text or "")
    if not match or (match.group(1) and not signed):
        example = "-3d or 12h" if signed else "3d, 12h or 30m"
        raise ValueError(f"{text!r} is not a duration like {example}")
    span = timedelta(seconds=int(match.group(2)) * _UNIT_SECONDS[match.group(3)])
    if span > MAX_DURATION:
        raise ValueError(f"{text!r} is longer than three years")
    return -span if match.group(1) == "-" else span


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- triggers


class SegmentTrigger(_Shape):
    type: Literal["segment_entered", "segment_exited"]
    segment_id: int


class EventTrigger(_Shape):
    type: Literal["event"]
    name: str = Field(min_length=1, max_length=200)


class OrderTrigger(_Shape):
    type: Literal["order_placed"]


class FormTrigger(_Shape):
    type: Literal["form_submitted"]
    form_id: int | None = None


class DateTraitTrigger(_Shape):
    """Yearly on the month and day a trait holds ("1990-05-17" or "05-17"), `days_before` it,
    at `hour` o'clock in SIYU_TIMEZONE."""

    type: Literal["date_trait"]
    trait: str = Field(pattern=r"^\w{1,64}$")
    days_before: int = Field(default=0, ge=0, le=60)
    hour: int = Field(default=9, ge=0, le=23)


class FixedDateTrigger(_Shape):
    """Once, at `at`: everyone in the segment, or matching the query, then."""

    type: Literal["fixed_date"]
    at: AwareDatetime
    segment_id: int | None = None
    query: str | None = None

    @model_validator(mode="after")
    def _who(self) -> FixedDateTrigger:
        if (self.segment_id is None) == (self.query is None or not self.query.strip()):
            raise ValueError("give exactly one of segment_id and query: who is enrolled")
        return self


Trigger = Annotated[
    SegmentTrigger
    | EventTrigger
    | OrderTrigger
    | FormTrigger
    | DateTraitTrigger
    | FixedDateTrigger,
    Field(discriminator="type"),
]


class ReEntry(_Shape):
    """never: once per contact; always: again after each finished walk; after_days: again
    once that many days have passed since the last entry."""

    mode: Literal["never", "always", "after"] = "never"
    days: int | None = Field(default=None, ge=1, le=3650)

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"mode": value}
        if isinstance(value, dict) and "after_days" in value and "mode" not in value:
            return {"mode": "after", "days": value["after_days"]}
        return value

    @model_validator(mode="after")
    def _days(self) -> ReEntry:
        if self.mode == "after" and self.days is None:
            raise ValueError('re-entry after a while needs days, e.g. {"after_days": 30}')
        return self


# ---------------------------------------------------------------- steps


class _Step(_Shape):
    id: str = Field(pattern=STEP_ID)
    title: str | None = Field(default=None, max_length=200)


class WaitStep(_Step):
    type: Literal["wait"]
    duration: str

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        if parse_duration(value) <= timedelta(0):
            raise ValueError("a wait must be longer than nothing")
        return value.strip()


class WaitUntilStep(_Step):
    """Until an absolute time (`at`), or a contact's date `field` (+ their usual gap between
    orders, + `offset`), optionally moved to `time` o'clock that day; `time` alone is the next
    time the clock in SIYU_TIMEZONE shows it. A time already past goes on at once."""

    type: Literal["wait_until"]
    at: AwareDatetime | None = None
    field: str | None = None
    plus_usual_gap: bool = False
    offset: str | None = None
    time: str | None = None

    @field_validator("field")
    @classmethod
    def _field(cls, value: str | None) -> str | None:
        if value is None or value in DATE_FIELDS or re.match(r"^traits\.\w{1,64}$", value):
            return value
        raise ValueError(
            f"{value!r} is not a date field: {', '.join(DATE_FIELDS)} or traits.<name>"
        )

    @field_validator("offset")
    @classmethod
    def _offset(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value, signed=True)
        return value

    @field_validator("time")
    @classmethod
    def _time(cls, value: str | None) -> str | None:
        if value is not None and not _TIME_OF_DAY.match(value):
            raise ValueError(f"{value!r} is not a time of day like 09:30")
        return value

    @model_validator(mode="after")
    def _one(self) -> WaitUntilStep:
        if self.at is not None and self.field is not None:
            raise ValueError("give at or field, not both")
        if self.at is None and self.field is None and self.time is None:
            raise ValueError("say until when: at, field or time")
        if (self.plus_usual_gap or self.offset) and self.field is None:
            raise ValueError("plus_usual_gap and offset count from a field")
        return self


class BranchStep(_Step):
    type: Literal["branch"]
    condition: str = Field(min_length=1, max_length=10_000)
    yes: list[Step] = Field(default_factory=list)
    no: list[Step] = Field(default_factory=list)


class SendStep(_Step):
    type: Literal["send"]
    channel_id: int
    category: Literal["marketing", "transactional"] = "marketing"
    subject: str | None = Field(default=None, max_length=500)
    body: str = Field(default="", max_length=20_000)
    template_code: str | None = Field(default=None, max_length=120)
    params: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _says_something(self) -> SendStep:
        if not self.body.strip() and not self.template_code:
            raise ValueError("a message needs a body or a template_code")
        return self


class TagStep(_Step):
    type: Literal["tag_add", "tag_remove"]
    tag: str = Field(min_length=1, max_length=130)


class AssignOwnerStep(_Step):
    type: Literal["assign_owner"]
    # A staff login, or "round_robin": each in turn of the active staff (role staff).
    owner: str = Field(min_length=1, max_length=64)


class WebhookStep(_Step):
    """A transactional message through a webhook channel; `body` is its JSON template."""

    type: Literal["webhook"]
    channel_id: int
    body: str | None = Field(default=None, max_length=20_000)


class IssueCouponStep(_Step):
    """A code of the named coupon to each contact, once per walk (limit and stock allowing)."""

    type: Literal["issue_coupon"]
    coupon: str = Field(min_length=1, max_length=64)


class ExitStep(_Step):
    type: Literal["exit"]
    reason: str | None = Field(default=None, max_length=200)


Step = Annotated[
    WaitStep
    | WaitUntilStep
    | BranchStep
    | SendStep
    | TagStep
    | AssignOwnerStep
    | WebhookStep
    | IssueCouponStep
    | ExitStep,
    Field(discriminator="type"),
]
STEP_TYPES = (
    "send",
    "wait",
    "wait_until",
    "branch",
    "tag_add",
    "tag_remove",
    "assign_owner",
    "webhook",
    "issue_coupon",
    "exit",
)
TRIGGER_TYPES = (
    "segment_entered",
    "segment_exited",
    "event",
    "order_placed",
    "form_submitted",
    "date_trait",
    "fixed_date",
)


class Definition(_Shape):
    trigger: Trigger
    re_entry: ReEntry = Field(default_factory=ReEntry)
    goal: str | None = Field(default=None, max_length=10_000)
    goal_new_order: bool = False
    steps: list[Step] = Field(default_factory=list)


BranchStep.model_rebuild()
Definition.model_rebuild()


@dataclass
class Problem:
    """One thing wrong with a definition, at a path such as `steps[2].yes[0].duration`."""

    path: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "message": self.message,
            "line": self.line,
            "column": self.column,
        }


class DefinitionInvalid(Invalid):
    def __init__(self, problems: list[Problem]) -> None:
        shown = "; ".join(str(p) for p in problems[:5])
        more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
        super().__init__(
            f"the journey is not valid: {shown}{more}", problems=[p.as_dict() for p in problems]
        )
        self.problems = problems


def _path(location: tuple[Any, ...]) -> str:
    """pydantic's location without the unions' tag names: steps[2].yes[0].duration."""
    out = ""
    previous: Any = None
    for part in location:
        if isinstance(part, int):
            out += f"[{part}]"
        elif (isinstance(previous, int) and part in STEP_TYPES) or (
            previous == "trigger" and part in TRIGGER_TYPES
        ):
            pass
        elif "[" in str(part):
            pass  # a validator's own label, e.g. function-after[_who(), FixedDateTrigger]
        else:
            out += f".{part}" if out else str(part)
        previous = part
    return out


def _message(error: dict[str, Any]) -> str:
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if error["type"] == "union_tag_invalid":
        tag = error.get("ctx", {}).get("tag")
        return f"unknown type {tag!r}; one of {error.get('ctx', {}).get('expected_tags')}"
    if error["type"] == "union_tag_not_found":
        return "a type is needed"
    return message


def read(data: Any) -> Definition:
    """The definition checked for shape; DefinitionInvalid lists every problem with its path."""
    if not isinstance(data, dict):
        raise DefinitionInvalid([Problem("", "a journey definition is a JSON object")])
    try:
        definition = Definition.model_validate(data)
    except ValidationError as error:
        problems = [Problem(_path(e["loc"]), _message(e)) for e in error.errors()]  # type: ignore[arg-type]
        raise DefinitionInvalid(problems) from None
    return definition


def dump(definition: Definition) -> dict[str, Any]:
    return definition.model_dump(mode="json", exclude_none=True)


# ---------------------------------------------------------------- walking the steps


@dataclass
class Plan:
    """Where every step is and what follows it, for the engine and the statistics."""

    steps: dict[str, Any] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    # The step after each one when it is done (None: the end of the journey).
    following: dict[str, str | None] = field(default_factory=dict)
    # Steps in reading order with their depth, for tables.
    order: list[tuple[str, int]] = field(default_factory=list)
    first: str | None = None
    duplicates: list[str] = field(default_factory=list)

    def first_of(self, steps: list[Any], after: str | None) -> str | None:
        return steps[0].id if steps else after


def plan(definition: Definition) -> Plan:
    result = Plan()

    def walk(steps: list[Any], prefix: str, after: str | None, depth: int) -> None:
        for index, step in enumerate(steps):
            path = f"{prefix}[{index}]"
            if step.id in result.steps:
                result.duplicates.append(f"{path}.id")
            result.steps[step.id] = step
            result.paths[step.id] = path
            result.order.append((step.id, depth))
            nxt = steps[index + 1].id if index + 1 < len(steps) else after
            result.following[step.id] = nxt
            if isinstance(step, BranchStep):
                walk(step.yes, f"{path}.yes", nxt, depth + 1)
                walk(step.no, f"{path}.no", nxt, depth + 1)

    walk(definition.steps, "steps", None, 0)
    result.first = definition.steps[0].id if definition.steps else None
    return result


def iter_steps(steps: list[Any], prefix: str = "steps") -> Iterator[tuple[str, Any]]:
    for index, step in enumerate(steps):
        path = f"{prefix}[{index}]"
        yield path, step
        if isinstance(step, BranchStep):
            yield from iter_steps(step.yes, f"{path}.yes")
            yield from iter_steps(step.no, f"{path}.no")


def next_at_time(base: datetime, time_of_day: str, zone: Any) -> datetime:
    """`base`'s day in `zone` at `time_of_day`."""
    hour, minute = (int(part) for part in time_of_day.split(":"))
    local = base.astimezone(zone)
    return local.replace(hour=hour, minute=minute, second=0, microsecond=0)
