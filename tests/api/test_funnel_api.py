"""GET /api/v1/reports/funnel: the lead-to-deal funnel for scripts and dashboards."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from tests.analytics.test_funnel import seed
from tests.api.conftest import Api, assert_problem


def test_funnel_over_the_api(api: Api, session: Session, tmp_path: Path) -> None:
    seed(session, tmp_path)
    data = api.ok("GET", "/api/v1/reports/funnel", scope="read")
    assert data["steps"] == ["visitors", "leads", "first_order", "repeat_order"]
    assert [data["total"][s] for s in data["steps"]] == [5, 4, 2, 1]
    taobao = next(r for r in data["by_source"] if r["source"] == "taobao")
    assert taobao["conversion"]["repeat_order"] == 0.5
    later = api.ok(
        "GET", "/api/v1/reports/funnel", params={"since": "2999-01-01T00:00:00"}, scope="read"
    )
    assert later["total"]["visitors"] == 0 and later["since"].startswith("2998-12-31T16:00")
    assert_problem(api.get("/api/v1/reports/funnel", params={"since": "soon"}, scope="read"), 422)
