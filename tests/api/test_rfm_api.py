"""GET /api/v1/reports/rfm and POST /api/v1/reports/rfm/refresh: keys, scopes and shapes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from siyu.db.types import utcnow
from tests.analytics.test_rfm import contact, order
from tests.api.conftest import Api, assert_problem


def test_rfm_over_the_api(api: Api, session: Session) -> None:
    assert_problem(api.get("/api/v1/reports/rfm", scope=None), 401)
    assert_problem(api.post("/api/v1/reports/rfm/refresh", scope=None), 401)
    assert_problem(api.post("/api/v1/reports/rfm/refresh", scope="read"), 403, "scope")
    empty = api.ok("GET", "/api/v1/reports/rfm", scope="read")
    assert empty["computed_at"] is None and empty["contacts"] == 0 and empty["grid"] == []
    assert {s["share"] for s in empty["segments"]} == {None}

    for n in range(6):
        order(session, contact(session, f"c{n}"), utcnow() - timedelta(days=n + 1), 1000 * n)
    session.flush()
    done = api.ok("POST", "/api/v1/reports/rfm/refresh", scope="write")
    assert done["refresh"]["scored"] == 6 and done["refresh"]["window_days"] == 365
    data = api.ok("GET", "/api/v1/reports/rfm", scope="read")
    assert set(data) == {"window_days", "computed_at", "contacts", "grid", "segments"}
    assert data["contacts"] == 6 and data["computed_at"] == done["refresh"]["computed_at"]
    assert sum(cell["contacts"] for cell in data["grid"]) == 6
    assert set(data["segments"][0]) == {
        "segment",
        "name_en",
        "name_zh",
        "contacts",
        "share",
        "average_monetary",
    }
