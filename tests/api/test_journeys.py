"""/api/v1/journeys: create, validate with paths, switch on and off, stats, enrolments."""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.db.types import utcnow
from siyu.engage.journeys import engine
from siyu.engage.journeys.models import EngageJourney
from siyu.engage.models import EngageChannel
from tests.api.conftest import Api, assert_problem
from tests.engage.journeys.conftest import person


def channel(session: Session) -> int:
    row = EngageChannel(name="邮件", kind="email", config={})
    session.add(row)
    session.flush()
    return row.id


def definition(channel_id: int) -> dict:
    return {
        "trigger": {"type": "event", "name": "signed_up"},
        "steps": [
            {"id": "hello", "type": "send", "channel_id": channel_id, "body": "你好"},
            {"id": "pause", "type": "wait", "duration": "2d"},
        ],
    }


def test_crud_activate_stats_and_enrolments(api: Api, session: Session) -> None:
    mail = channel(session)
    made = api.ok(
        "POST", "/api/v1/journeys", 201, json={"name": "欢迎", "definition": definition(mail)}
    )
    assert made["state"] == "draft" and made["version"] == 1
    assert [j["name"] for j in api.ok("GET", "/api/v1/journeys", scope="read")] == ["欢迎"]
    ref = f"/api/v1/journeys/{made['id']}"
    assert api.ok("POST", f"{ref}/validate")["valid"] is True
    assert api.ok("POST", f"{ref}/activate")["state"] == "active"
    journey_id = made["id"]
    engine.enrol(session, journey=session.get_one(EngageJourney, journey_id),
                 contact_ids=[person(session, 1).id], now=utcnow())  # fmt: skip
    engine.advance(session, now=utcnow())
    stats = api.ok("GET", f"{ref}/stats", scope="read")
    assert [(s["step"], s["sent"], s["waiting"]) for s in stats["steps"]] == [
        ("hello", 1, 0),
        ("pause", 0, 1),
    ]
    rows = api.ok("GET", f"{ref}/enrolments?state=waiting", scope="read")
    assert [(r["state"], r["step"]) for r in rows] == [("waiting", "pause")]
    changed = api.ok("PATCH", ref, json={"description": "新客"})
    assert changed["description"] == "新客"
    assert api.ok("POST", f"{ref}/pause")["state"] == "paused"
    assert_problem(api.delete(ref), 409, "archive it instead")
    assert api.ok("POST", f"{ref}/archive")["state"] == "archived"


def test_validation_errors_have_paths(api: Api, session: Session) -> None:
    body = {"definition": {"trigger": {"type": "order_placed"}, "steps": [
        {"id": "a", "type": "branch", "condition": "cty = 1",
         "yes": [{"id": "b", "type": "wait", "duration": "soon"}]}]}}  # fmt: skip
    checked = api.ok("POST", "/api/v1/journeys/validate", json=body)
    assert checked["valid"] is False
    assert [p["path"] for p in checked["problems"]] == ["steps[0].yes[0].duration"]
    body["definition"]["steps"][0]["yes"][0]["duration"] = "1d"
    checked = api.ok("POST", "/api/v1/journeys/validate", json=body)
    (problem,) = checked["problems"]
    assert (problem["path"], problem["line"], problem["column"]) == ("steps[0].condition", 1, 1)
    made = api.ok("POST", "/api/v1/journeys", 201, json={"name": "x", **body})
    refused = assert_problem(api.post(f"/api/v1/journeys/{made['id']}/activate"), 422, "not valid")
    assert refused["problems"][0]["path"] == "steps[0].condition"
    assert_problem(api.post("/api/v1/journeys", json={"name": "x", **body}), 409, "already")
    assert_problem(api.post("/api/v1/journeys", json={"name": "y", **body}, scope="read"), 403)


def test_ready_journeys(api: Api, session: Session) -> None:
    mail = channel(session)
    keys = [r["key"] for r in api.ok("GET", "/api/v1/journeys/ready", scope="read")]
    assert keys == ["welcome", "win_back", "repurchase"]
    made = api.ok("POST", "/api/v1/journeys/ready/repurchase", 201, json={"channel_id": mail})
    assert made["definition"]["trigger"] == {"type": "order_placed"}
    assert api.ok("POST", f"/api/v1/journeys/{made['id']}/activate")["state"] == "active"
    assert_problem(api.post("/api/v1/journeys/ready/nope", json={"channel_id": mail}), 404)
