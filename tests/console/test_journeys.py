"""The journeys pages: the list, ready journeys, the builder's steps and branches, problems at
their step, the JSON tab, switching on and off, statistics beside each step."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy.orm import Session

from siyu.console.i18n import LANG_COOKIE
from siyu.db.types import utcnow
from siyu.engage.journeys import engine, service
from siyu.engage.journeys.models import EngageJourney
from siyu.engage.models import EngageChannel
from tests.console.conftest import Browser, make_staff
from tests.engage.journeys.conftest import CLI, person


@pytest.fixture(autouse=True)
def english(client: object) -> None:
    client.cookies.set(LANG_COOKIE, "en")  # type: ignore[attr-defined]


def channel(session: Session) -> int:
    row = EngageChannel(name="邮件", kind="email", config={})
    session.add(row)
    session.flush()
    return row.id


def form_of(page: str) -> dict[str, str]:
    """The builder's inputs as a browser would post them (first value of each name)."""
    found: dict[str, str] = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page):
        found.setdefault(
            name, value.replace("&#34;", '"').replace("&quot;", '"').replace("&amp;", "&")
        )
    for name, value in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>([^<]*)</textarea>', page):
        found.setdefault(name, value)
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body) or re.search(
            r'<option value="([^"]*)"', body
        )
        found.setdefault(name, chosen.group(1) if chosen else "")
    found.pop("csrf_token", None)
    return found


def test_the_list_and_a_ready_journey(signed_in: Browser, session: Session) -> None:
    page = signed_in.get("/journeys")
    assert page.status_code == 200 and "No journeys yet" in page.text
    assert 'href="/journeys"' in page.text  # the navigation entry
    mail = channel(session)
    page = signed_in.get("/journeys")
    made = signed_in.post("/journeys/ready", {"key": "win_back", "channel_id": str(mail)})
    assert made.status_code == 303
    detail = signed_in.get(made.headers["location"])
    assert "流失预警唤回" in detail.text and "Switch on" in detail.text
    on = signed_in.post(made.headers["location"] + "/activate")
    assert on.status_code == 303
    listed = signed_in.get("/journeys")
    assert "Active" in listed.text and "流失预警唤回" in listed.text


def test_build_steps_with_a_branch_and_save(signed_in: Browser, session: Session) -> None:
    mail = channel(session)
    page = signed_in.get("/journeys/new")
    assert page.status_code == 200
    form = {**form_of(page.text), "name": "新客欢迎", "trigger_type": "event", "trigger_name": "x"}
    added = signed_in.post("/journeys/new", {**form, "action": "add:steps:send"})
    form = {**form_of(added.text), "name": "新客欢迎"}
    assert form["s:steps[0]:channel_id"] == str(mail)
    form["s:steps[0]:body"] = "你好"
    added = signed_in.post("/journeys/new", {**form, "action": "add:steps:branch"})
    form = form_of(added.text)
    form["s:steps[1]:condition"] = "order_count >= 1"
    added = signed_in.post("/journeys/new", {**form, "action": "add:steps[1].no:wait"})
    form = form_of(added.text)
    assert form["s:steps[1].no[0]:duration"] == "1d"
    # A wrong duration is shown at its step, and nothing is saved.
    form["s:steps[1].no[0]:duration"] = "soon"
    refused = signed_in.post("/journeys/new", {**form, "action": "save"})
    assert refused.status_code == 422
    assert 'data-path="steps[1].no[0].duration"' in refused.text
    form["s:steps[1].no[0]:duration"] = "2d"
    moved = signed_in.post("/journeys/new", {**form, "action": "up:steps[1]"})
    definition = json.loads(form_of(moved.text)["definition"])
    assert [s["type"] for s in definition["steps"]] == ["branch", "send"]
    form = form_of(moved.text)
    saved = signed_in.post("/journeys/new", {**form, "action": "save"})
    assert saved.status_code == 303, saved.text
    journey = session.query(EngageJourney).one()
    assert journey.definition["steps"][0]["no"][0] == {
        "id": "wait_1",
        "type": "wait",
        "duration": "2d",
    }


def test_json_tab_and_problems_inline(signed_in: Browser, session: Session) -> None:
    page = signed_in.get("/journeys/new")
    form = {**form_of(page.text), "name": "j"}
    as_json = signed_in.post("/journeys/new", {**form, "action": "to_json"})
    assert "<textarea" in as_json.text and "segment_entered" in as_json.text
    text = json.dumps({"trigger": {"type": "order_placed"}, "steps": [
        {"id": "b", "type": "branch", "condition": "cty = 1"}]})  # fmt: skip
    back = signed_in.post(
        "/journeys/new", {"name": "j", "mode": "json", "json": text, "action": "to_builder"}
    )
    assert 'data-path="steps[0].condition"' in back.text and "did you mean" in back.text
    assert "line 1, column 1" in back.text
    broken = signed_in.post(
        "/journeys/new", {"name": "j", "mode": "json", "json": "{", "action": "save"}
    )
    assert broken.status_code == 422 and "JSON:" in broken.text


def test_stats_beside_steps_and_pause(signed_in: Browser, session: Session) -> None:
    mail = channel(session)
    made = service.create_journey(session, actor=CLI, name="统计", definition={
        "trigger": {"type": "event", "name": "x"},
        "steps": [{"id": "hello", "type": "send", "channel_id": mail, "body": "hi"},
                  {"id": "w", "type": "wait", "duration": "1d"}]})  # fmt: skip
    service.activate(session, actor=CLI, journey=made)
    engine.enrol(session, journey=made, contact_ids=[person(session, 1).id], now=utcnow())
    engine.advance(session, now=utcnow())
    page = signed_in.get(f"/journeys/{made.id}")
    assert "entered 1" in page.text and "sent 1" in page.text and "waiting 1" in page.text
    paused = signed_in.post(f"/journeys/{made.id}/pause")
    assert paused.status_code == 303 and made.state == "paused"


def test_viewers_see_but_do_not_edit(browser: Browser, session: Session) -> None:
    make_staff(session, "wang.v", "viewer")
    browser.sign_in("wang.v")
    assert browser.get("/journeys").status_code == 200
    assert browser.get("/journeys/new").status_code == 403


def test_zh_cn(signed_in: Browser) -> None:
    signed_in.client.cookies.set(LANG_COOKIE, "zh_CN")
    page = signed_in.get("/journeys")
    assert "旅程" in page.text
    builder = signed_in.get("/journeys/new").text
    assert "触发条件" in builder and "发送消息" in builder and "保存旅程" in builder
