"""Checking a journey: shape errors and reference errors name the step's path; an invalid
journey cannot be switched on."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from siyu.engage.journeys import service
from siyu.engage.journeys.definition import DefinitionInvalid, parse_duration
from siyu.errors import Conflict, Forbidden
from siyu.kit.actor import Actor
from tests.engage.journeys.conftest import CLI, Clock, make_channel


def problems(session: Session, definition: dict[str, Any], clock: Clock) -> dict[str, str]:
    _checked, found = service.validate(session, definition, now=clock.now)
    return {p.path: p.message for p in found}


def test_shape_errors_name_the_path(session: Session, clock: Clock) -> None:
    found = problems(
        session,
        {
            "trigger": {"type": "segment_entered"},
            "re_entry": {"mode": "after"},
            "steps": [
                {"id": "a", "type": "send", "channel_id": 1},
                {"id": "b", "type": "wait", "duration": "soon"},
                {
                    "id": "c",
                    "type": "branch",
                    "condition": "x",
                    "yes": [{"id": "d", "type": "wait", "duration": "3x"}],
                    "no": [{"id": "e", "type": "teleport"}],
                },
            ],
        },
        clock,
    )
    assert found["trigger.segment_id"] == "Field required"
    assert "needs days" in found["re_entry"]
    assert "needs a body or a template_code" in found["steps[0]"]
    assert found["steps[1].duration"] == "'soon' is not a duration like 3d, 12h or 30m"
    assert "'3x' is not a duration" in found["steps[2].yes[0].duration"]
    assert "unknown type 'teleport'" in found["steps[2].no[0]"]


def test_references_and_conditions_are_checked(session: Session, clock: Clock) -> None:
    off = make_channel(session, name="停用", enabled=False)
    mail = make_channel(session)
    found = problems(
        session,
        {
            "trigger": {"type": "segment_entered", "segment_id": 999},
            "goal": "orders().count >= ",
            "steps": [
                {"id": "a", "type": "send", "channel_id": off, "body": "hi"},
                {"id": "b", "type": "send", "channel_id": 999, "body": "{{ oops"},
                {
                    "id": "c",
                    "type": "branch",
                    "condition": 'tag("VIP") and cty = "杭州"',
                    "yes": [{"id": "a", "type": "webhook", "channel_id": mail}],
                    "no": [{"id": "e", "type": "tag_remove", "tag": "没有这个"}],
                },
                {"id": "f", "type": "assign_owner", "owner": "nobody"},
            ],
        },
        clock,
    )
    assert found["trigger.segment_id"] == "there is no segment 999"
    assert "goal" in found
    assert "switched off" in found["steps[0].channel_id"]
    assert found["steps[1].channel_id"] == "there is no channel 999"
    assert found["steps[1].body"].startswith("template error")
    assert "did you mean 'city'" in found["steps[2].condition"]
    assert "ids must be unique" in found["steps[2].yes[0].id"]
    assert "no webhook channel" in found["steps[2].yes[0].channel_id"]
    assert found["steps[2].no[0].tag"] == "there is no tag '没有这个'"
    assert "no active staff login" in found["steps[3].owner"]
    _checked, listed = service.validate(
        session,
        {"trigger": {"type": "order_placed"}, "steps": [
            {"id": "c", "type": "branch", "condition": 'tag("VIP") and cty = "x"'}]},
        now=clock.now,
    )  # fmt: skip
    assert (listed[0].line, listed[0].column) == (1, 16)


def test_an_invalid_journey_cannot_be_switched_on(session: Session, clock: Clock) -> None:
    draft = service.create_journey(
        session,
        actor=CLI,
        name="草稿",
        definition={"trigger": {"type": "order_placed"}, "steps": []},
    )
    with pytest.raises(DefinitionInvalid) as raised:
        service.activate(session, actor=CLI, journey=draft, now=clock.now)
    assert raised.value.detail["problems"][0]["path"] == "steps"
    assert draft.state == "draft"
    with pytest.raises(DefinitionInvalid):
        service.create_journey(session, actor=CLI, name="坏", definition={"steps": 3})
    with pytest.raises(Conflict):
        service.create_journey(session, actor=CLI, name="草稿", definition=draft.definition)


def test_a_fixed_date_in_the_past_and_who(session: Session, clock: Clock) -> None:
    past = (clock.now - timedelta(days=1)).isoformat()
    found = problems(
        session,
        {"trigger": {"type": "fixed_date", "at": past, "query": "cty = 1"}, "steps": []},
        clock,
    )
    assert "passed" in found["trigger.at"] and "did you mean" in found["trigger.query"]
    both = problems(session, {"trigger": {"type": "fixed_date", "at": past}, "steps": []}, clock)
    assert "exactly one of segment_id and query" in both["trigger"]


def test_viewers_may_not_edit(session: Session) -> None:
    with pytest.raises(Forbidden):
        service.create_journey(
            session,
            actor=Actor("staff:x", role="viewer"),
            name="x",
            definition={"trigger": {"type": "order_placed"}},
        )


def test_durations() -> None:
    assert parse_duration("3d") == timedelta(days=3)
    assert parse_duration("12h") == timedelta(hours=12)
    assert parse_duration("-3d", signed=True) == -timedelta(days=3)
    with pytest.raises(ValueError):
        parse_duration("-3d")
    with pytest.raises(ValueError):
        parse_duration("9999w")
