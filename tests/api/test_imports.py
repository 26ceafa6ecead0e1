"""Import upload as a job: the upload commits a queued job, the worker runs it, the API follows
its progress and serves its error report. These tests commit, so each has a database of its own."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from siyu.api.app import create_app
from siyu.audit.models import AuditEvent
from siyu.config import get_settings
from siyu.db.session import get_engine, unit_of_work
from siyu.worker.runner import run_once
from tests.api.conftest import ORDER_HEADER, Api, Keys, assert_problem, create_keys, order_row


@pytest.fixture
def committed_api(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Api]:
    """The app with its real unit of work over a committed database; uploads go to tmp_path."""
    monkeypatch.setenv("SIYU_UPLOAD_DIR", str(tmp_path / "uploads"))
    get_settings.cache_clear()
    with unit_of_work() as session:
        keys: Keys = create_keys(session)
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        yield Api(client, keys)


def csv_bytes(rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ORDER_HEADER)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def upload(api: Api, name: str, content: bytes, **data: str) -> Any:
    return api.post(
        "/api/v1/imports", files={"file": (name, content, "text/csv")}, data=data, scope="write"
    )


GOOD_AND_BAD = [
    order_row("T1", "taobao_nick:小王", name="王小明", total="99.00", items="精华 ×1 @99.00"),
    order_row("T2", "taobao_nick:小李", total="abc"),  # line 3: not an amount
    order_row("T3", "taobao_nick:小李", total="58.00"),
    order_row("T4", "nokind", total="10.00"),  # line 5: no kind:value
    order_row("J1", "jd_pin:wang", platform="jd", phone="13800138000", total="1,299.00"),
]


def test_upload_runs_as_a_job_with_progress_counts_and_errors(
    committed_api: Api, tmp_path: Path
) -> None:
    api = committed_api
    response = upload(api, "orders.csv", csv_bytes(GOOD_AND_BAD))
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["state"] == "queued"
    assert job["file_name"] == "orders.csv"
    assert job["errors_url"] == f"/api/v1/imports/{job['id']}/errors.csv"
    # The file waits in the upload folder for the worker.
    assert list((tmp_path / "uploads").rglob("orders.csv"))
    # No report before the job ran.
    assert_problem(api.get(job["errors_url"], scope="read"), 404, "queued")

    assert run_once(get_engine()) is True
    assert run_once(get_engine()) is False  # nothing else queued

    done = api.ok("GET", f"/api/v1/imports/{job['id']}", scope="read")
    assert done["state"] == "done", done
    assert done["error"] is None
    assert done["format"] == "auto"
    assert done["finished_at"] is not None
    progress = done["progress"]
    assert progress["percent"] == 100
    if progress["total"] is not None:  # PostgreSQL keeps the total on the row; SQLite need not
        assert progress["done"] == progress["total"] > 0
    result = done["result"]
    assert result["format"] == "orders_csv"
    assert result["rows_read"] == 5
    assert result["orders_created"] == 3
    assert result["rows_rejected"] == 2
    assert result["contacts_created"] == 3
    assert [e["line"] for e in result["errors"]] == [3, 5]
    assert "total" in result["errors"][0]["reason"]
    assert "kind:value" in result["errors"][1]["reason"]

    report = api.get(job["errors_url"], scope="read")
    assert report.status_code == 200, report.text
    assert report.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["line", "reason"]
    assert [(r[0], r[2 + ORDER_HEADER.index("order_id")]) for r in rows[1:]] == [
        ("3", "T2"),
        ("5", "T4"),
    ]

    # The imported data is there, and the audit log says which key's upload it was.
    wang = api.ok("GET", "/api/v1/contacts/taobao_nick:小王", scope="read")
    assert (wang["order_count"], wang["total_spent"]) == (1, 9900)
    assert (
        api.ok("GET", "/api/v1/contacts/phone:13800138000", scope="read")["total_spent"] == 129900
    )
    with unit_of_work() as session:
        actors = (
            session.execute(select(AuditEvent.actor).where(AuditEvent.action == "import.file"))
            .scalars()
            .all()
        )
    assert actors == [f"apikey:{api.keys.ids['write']}"]


def test_the_same_upload_twice_changes_nothing(committed_api: Api) -> None:
    api = committed_api
    content = csv_bytes(GOOD_AND_BAD[:1])
    for _ in range(2):
        assert upload(api, "orders.csv", content).status_code == 202
        assert run_once(get_engine())
    jobs = api.ok("GET", "/api/v1/orders", scope="read")["items"]
    assert [o["platform_order_id"] for o in jobs] == ["T1"]


def test_an_unrecognised_file_fails_the_job_clearly(committed_api: Api) -> None:
    api = committed_api
    content = "姓名,年龄\n张三,30\n".encode()
    job = upload(api, "members.csv", content).json()
    assert run_once(get_engine())
    failed = api.ok("GET", f"/api/v1/imports/{job['id']}", scope="read")
    assert failed["state"] == "failed"
    assert "members.csv" in failed["error"]
    assert "not a recognised" in failed["error"]
    assert "姓名" in failed["error"]
    assert failed["result"] is None
    assert_problem(api.get(failed["errors_url"], scope="read"), 404, "failed")
    assert api.ok("GET", "/api/v1/orders", scope="read")["items"] == []


def test_a_clean_import_has_an_empty_error_report(committed_api: Api) -> None:
    api = committed_api
    job = upload(api, "orders.csv", csv_bytes(GOOD_AND_BAD[:1])).json()
    assert run_once(get_engine())
    done = api.ok("GET", f"/api/v1/imports/{job['id']}", scope="read")
    assert (done["state"], done["result"]["rows_rejected"]) == ("done", 0)
    report = api.get(done["errors_url"], scope="read")
    assert report.status_code == 200
    rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert rows == [["line", "reason"]]


def test_an_empty_upload_is_refused(committed_api: Api) -> None:
    api = committed_api
    assert_problem(upload(committed_api, "orders.csv", b""), 422, "empty")
    # No job was queued for it.
    assert run_once(get_engine()) is False
    assert_problem(api.post("/api/v1/imports", data={"format": "auto"}, scope="write"), 422, "file")


@pytest.mark.parametrize(
    ("fmt", "needle"), [("fax", "unknown format"), ("mapping:/etc/passwd", "mapping")]
)
def test_an_unknown_format_is_refused_at_upload(committed_api: Api, fmt: str, needle: str) -> None:
    response = upload(committed_api, "orders.csv", csv_bytes(GOOD_AND_BAD[:1]), format=fmt)
    assert_problem(response, 422, needle)
    assert run_once(get_engine()) is False


def test_a_named_format_is_used(committed_api: Api) -> None:
    api = committed_api
    job = upload(api, "x.csv", csv_bytes(GOOD_AND_BAD[:1]), format="orders").json()
    assert job["format"] == "orders"
    assert run_once(get_engine())
    assert api.ok("GET", f"/api/v1/imports/{job['id']}", scope="read")["result"]["format"] == (
        "orders_csv"
    )


def test_a_file_name_cannot_escape_the_upload_folder(committed_api: Api, tmp_path: Path) -> None:
    response = upload(committed_api, "../../evil.csv", csv_bytes(GOOD_AND_BAD[:1]))
    assert response.status_code == 202, response.text
    assert response.json()["file_name"] == "evil.csv"
    assert not (tmp_path / "evil.csv").exists()
    assert list((tmp_path / "uploads").rglob("evil.csv"))


def test_a_read_key_cannot_upload(committed_api: Api) -> None:
    response = committed_api.post(
        "/api/v1/imports", files={"file": ("a.csv", b"x", "text/csv")}, scope="read"
    )
    assert_problem(response, 403, "write")


@pytest.mark.parametrize("name", ["..", "."])
def test_a_dot_file_name_is_refused(committed_api: Api, name: str) -> None:
    response = upload(committed_api, name, csv_bytes(GOOD_AND_BAD[:1]))
    assert_problem(response, 422, "not a usable file name")
