"""GET /api/v1/exports and /api/v1/exports/{table}: downloads with the right headers, streamed
(CSV and JSON Lines as they are read, Parquet from a finished file), audited, never a 500."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import orjson
import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audit.models import AuditEvent
from tests.api.conftest import Api, assert_problem, create_keys, make_app
from tests.exports.conftest import Pool


@pytest.fixture
def api(session: Session, pool: Pool) -> Iterator[Api]:
    app: FastAPI = make_app(session)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, create_keys(session))


def audit(session: Session) -> list[tuple[str, str | None, dict]]:
    rows = session.execute(
        select(AuditEvent.actor, AuditEvent.subject_id, AuditEvent.detail)
        .where(AuditEvent.action == "export.table")
        .order_by(AuditEvent.id)
    ).all()
    return [tuple(row) for row in rows]


def test_the_list_of_tables(api: Api) -> None:
    listed = {t["name"]: t for t in api.ok("GET", "/api/v1/exports", scope="write")}
    assert listed["contact"]["rows"] == 3
    assert (
        "password_hash" not in listed["staff_user"]["columns"] if "staff_user" in listed else True
    )
    assert "audit_event" not in listed  # a write key acts as an operator
    assert "audit_event" in {t["name"] for t in api.ok("GET", "/api/v1/exports")}
    # Reading is not taking away: a read key may not export.
    assert api.get("/api/v1/exports", scope="read").status_code == 403


def test_csv_streams_with_its_headers(api: Api, session: Session) -> None:
    response = api.get("/api/v1/exports/contact_order?format=csv&bom=true", scope="write")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="contact_order.csv"'
    )
    assert "content-length" not in response.headers  # sent while read, not buffered first
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["platform_order_id"] for r in rows] == ["T1001", "J2001", "J2002"]
    assert rows[0]["placed_at"] == "2024-03-01T02:30:15.123456Z"
    key = api.keys.ids["write"]
    assert audit(session) == [(f"apikey:{key}", "contact_order", {"format": "csv", "rows": 3})]


def test_json_lines_with_a_date_range(api: Api, session: Session) -> None:
    response = api.get(
        "/api/v1/exports/contact_order",
        params={"format": "jsonl", "since": "2024-03-02", "until": "2024-05-01"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-ndjson"
    rows = [orjson.loads(line) for line in response.content.splitlines()]
    assert [(r["platform_order_id"], r["currency"], r["total_amount"]) for r in rows] == [
        ("J2001", "USD", 9_900)
    ]


def test_parquet_comes_from_a_finished_file(api: Api, session: Session) -> None:
    response = api.get("/api/v1/exports/contact?format=parquet&segment=复购客户")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.apache.parquet"
    assert response.headers["content-length"] == str(len(response.content))
    table = pq.read_table(io.BytesIO(response.content))
    assert table.column("name").to_pylist() == ["王小明"]
    assert audit(session)[-1][2] == {"format": "parquet", "rows": 1, "segment": "复购客户"}


@pytest.mark.parametrize(
    ("url", "scope", "status", "needle"),
    [
        ("/api/v1/exports/nothing", "write", 404, "no table 'nothing'"),
        ("/api/v1/exports/contact?format=xlsx", "write", 422, "choose one of csv"),
        ("/api/v1/exports/contact?since=2024-02-30", "write", 422, "not a date or time"),
        ("/api/v1/exports/contact_tag?segment=复购客户", "write", 422, "not kept per customer"),
        ("/api/v1/exports/audit_event", "write", 403, "may not read the audit log"),
        ("/api/v1/exports/staff_user", "write", 403, "may not manage staff"),
    ],
)
def test_bad_requests_are_problems(
    api: Api, session: Session, url: str, scope: str, status: int, needle: str
) -> None:
    assert_problem(api.get(url, scope=scope), status, needle)
    assert audit(session) == []


def test_accounts_export_without_their_secrets_for_admins(api: Api) -> None:
    response = api.get("/api/v1/exports/staff_api_key?format=jsonl")
    assert response.status_code == 200, response.text
    rows = [orjson.loads(line) for line in response.content.splitlines()]
    assert rows and all("secret_hash" not in row for row in rows)
    assert api.keys.read.encode() not in response.content
