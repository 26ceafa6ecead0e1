"""The reports and marketing spend over the REST API, on the hand-worked pool of
tests/analytics/test_reports.py."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from siyu.ingest.service import import_file
from tests.analytics.test_reports import ORDERS
from tests.api.conftest import Api, assert_problem


def pool(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS, encoding="utf-8")
    import_file(session, path)
    session.flush()


def test_reports_with_filters(api: Api, session: Session, tmp_path: Path) -> None:
    pool(session, tmp_path)
    dashboard = api.ok("GET", "/api/v1/reports/dashboard", scope="read")
    assert dashboard["summary"]["repurchase_rate"] == 0.5
    assert dashboard["as_of"].endswith("Z")
    jd = api.ok("GET", "/api/v1/reports/repurchase?platform=jd")
    assert jd["summary"]["buyers"] == 1 and jd["scope"]["platforms"] == ["jd"]
    both = api.ok("GET", "/api/v1/reports/repurchase?platform=jd&platform=taobao")
    assert both["summary"]["buyers"] == 4
    cohorts = api.ok("GET", "/api/v1/reports/cohorts?since=2025-01-01&until=2025-01-31")
    assert [c["cohort"] for c in cohorts["cohorts"]] == ["2025-01"]
    assert cohorts["cohorts"][0]["retention"][2] == 0.5
    assert api.ok("GET", "/api/v1/reports/returns") == {
        "scope": {"since": None, "until": None, "platforms": [], "segment": None},
        "campaigns": [],
        "journeys": [],
    }


def test_bad_filters_are_problems(api: Api) -> None:
    assert_problem(api.get("/api/v1/reports/dashboard?since=yesterday-ish"), 422, "since")
    assert_problem(
        api.get("/api/v1/reports/cohorts?since=2025-03-01&until=2025-01-01"), 422, "before"
    )
    assert_problem(api.get("/api/v1/reports/repurchase?segment=nobody"), 404, "segment")


def test_spend_entered_imported_listed_and_removed(
    api: Api, session: Session, tmp_path: Path
) -> None:
    pool(session, tmp_path)
    entry = api.ok(
        "POST", "/api/v1/spend", json={"month": "2025-01", "channel": "taobao", "amount": 30000}
    )
    assert entry["currency"] == "CNY"
    imported = api.ok(
        "POST",
        "/api/v1/spend/import",
        content=b"month,channel,amount\n2025-02,jd,90\n2025-02,jd,free\n",
        headers={"Content-Type": "text/csv"},
    )
    assert imported == {"saved": 1, "problems": ["CSV line 3, amount: not an amount: 'free'"]}
    listed = api.ok("GET", "/api/v1/spend?since=2025-01&until=2025-01")
    assert [(e["channel"], e["amount"]) for e in listed] == [("taobao", 30000)]
    acquisition = api.ok("GET", "/api/v1/reports/acquisition")
    taobao = next(r for r in acquisition["by_channel"] if r["channel"] == "taobao")
    assert (taobao["spend"], taobao["customers"], taobao["cost_per_customer"]) == (30000, 3, 10000)
    assert api.delete(f"/api/v1/spend/{entry['id']}").status_code == 204
    assert_problem(api.delete(f"/api/v1/spend/{entry['id']}"), 404, "does not exist")
    assert_problem(
        api.post("/api/v1/spend", json={"month": "2025-1", "channel": "jd", "amount": 1}),
        422,
        "not a month",
    )
    assert api.post("/api/v1/spend", json={"month": "2025-01", "channel": "jd", "amount": 1},
                    headers=api.keys.headers("read")).status_code == 403  # fmt: skip
