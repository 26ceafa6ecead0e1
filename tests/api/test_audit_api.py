"""GET /api/v1/audit: the audit log for admin keys, filtered and paged like the console."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from siyu.audit.models import AuditEvent
from tests.api.conftest import Api, assert_problem


def _event(session: Session, when: datetime, **values: str) -> None:
    session.add(
        AuditEvent(
            occurred_at=when,
            actor=values.get("actor", "cli"),
            action=values.get("action", "contact.tag_add"),
            subject_type=values.get("subject_type", "contact"),
            subject_id=values.get("subject_id"),
            detail={"tags": ["VIP"]},
        )
    )
    session.flush()


def test_admin_keys_read_the_log_newest_first(api: Api) -> None:
    body = api.ok("GET", "/api/v1/audit")
    # Creating the fixture's staff member and three keys was recorded.
    assert [e["action"] for e in body["items"]][:3] == ["apikey.create"] * 3
    assert body["items"][-1]["action"] == "staff.create"
    first = body["items"][0]
    assert set(first) == {
        "id",
        "occurred_at",
        "actor",
        "action",
        "subject_type",
        "subject_id",
        "detail",
    }
    assert first["occurred_at"].endswith("Z") and first["detail"]["scopes"] == "admin"
    assert body["next_cursor"] is None


def test_read_and_write_keys_are_refused(api: Api) -> None:
    for scope in ("read", "write"):
        assert_problem(api.get("/api/v1/audit", scope=scope), 403, "admin")
    assert_problem(api.get("/api/v1/audit", scope=None), 401)


def test_filters_and_pages(api: Api, session: Session) -> None:
    day = datetime(2024, 3, 1, 12, tzinfo=UTC)
    for number in range(5):
        _event(session, day.replace(hour=number), subject_id=str(number), actor="staff:mei")
    _event(session, day, subject_type="staff", subject_id="9", action="staff.disable")
    body = api.ok("GET", "/api/v1/audit", params={"actor": "staff:mei", "limit": 2})
    assert [e["subject_id"] for e in body["items"]] == ["4", "3"]
    more = api.ok(
        "GET", "/api/v1/audit", params={"actor": "staff:mei", "cursor": body["next_cursor"]}
    )
    assert [e["subject_id"] for e in more["items"]] == ["2", "1", "0"]
    one = api.ok("GET", "/api/v1/audit", params={"subject_type": "contact", "subject_id": "3"})
    assert [e["subject_id"] for e in one["items"]] == ["3"]
    area = api.ok("GET", "/api/v1/audit", params={"action": "staff.*"})
    assert {e["action"] for e in area["items"]} == {"staff.disable", "staff.create"}
    # A time without a zone is the merchant's (Asia/Shanghai): 10:30 there is 02:30 UTC.
    window = api.ok(
        "GET",
        "/api/v1/audit",
        params={"since": "2024-03-01T10:30", "until": "2024-03-01T12:00:00+08:00"},
    )
    assert [e["subject_id"] for e in window["items"]] == ["3"]
    assert_problem(api.get("/api/v1/audit", params={"cursor": "nonsense"}), 422, "cursor")
    assert_problem(api.get("/api/v1/audit", params={"subject_id": "3"}), 422, "type")
