"""The console's exports page and its downloads, as a signed-in browser sees them."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audit.models import AuditEvent
from tests.api.conftest import make_app
from tests.console.conftest import Browser, make_staff
from tests.exports.conftest import Pool


@pytest.fixture
def browser(session: Session, pool: Pool) -> Iterator[Browser]:
    with TestClient(make_app(session), raise_server_exceptions=False) as client:
        yield Browser(client)


def signed_in(browser: Browser, login: str) -> Browser:
    response = browser.sign_in(login)
    assert response.status_code == 303, response.text
    return browser


def csv_rows(content: bytes) -> list[dict[str, str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # Excel needs it to read UTF-8
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def test_the_page_lists_tables_with_rows_and_links(session: Session, browser: Browser) -> None:
    make_staff(session, "li.na", "admin", name="李娜")
    signed_in(browser, "li.na")
    page = browser.get("/exports?format=parquet&since=2024-03-01")
    assert page.status_code == 200, page.text
    assert "数据导出" in page.text and 'href="/exports"' in page.text  # title and navigation
    assert 'href="/exports/contact_order/download?format=parquet&amp;since=2024-03-01"' in page.text
    # A table without a date column is offered whole.
    assert 'href="/exports/contact_order_line/download?format=parquet"' in page.text
    assert "audit_event" in page.text
    wrong = browser.get("/exports?since=2024-02-30")
    assert wrong.status_code == 200 and "请检查下方标出的日期" in wrong.text


def test_a_download_is_excel_ready_and_audited(session: Session, browser: Browser) -> None:
    make_staff(session, "li.na", "admin")
    signed_in(browser, "li.na")
    response = browser.get("/exports/contact_order/download?format=csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="contact_order.csv"'
    )
    assert [r["platform_order_id"] for r in csv_rows(response.content)] == [
        "T1001",
        "J2001",
        "J2002",
    ]
    # The days picked are the merchant's and both are included.
    one_day = browser.get("/exports/contact_order/download?since=2024-03-01&until=2024-03-01")
    assert [r["platform_order_id"] for r in csv_rows(one_day.content)] == ["T1001"]
    parquet = browser.get("/exports/contact/download?format=parquet")
    assert pq.read_table(io.BytesIO(parquet.content)).num_rows == 3
    actors = session.scalars(
        select(AuditEvent.actor).where(AuditEvent.action == "export.table")
    ).all()
    assert actors == ["staff:li.na"] * 3


def test_staff_see_and_download_their_own_customers_only(browser: Browser, pool: Pool) -> None:
    browser.get("/login")
    assert (
        browser.post("/login", {"identifier": "xiaomei", "password": "correct horse"}).status_code
        == 303
    )
    page = browser.get("/exports")
    assert "/exports/contact/download" in page.text
    assert "/exports/contact_tag/download" not in page.text
    assert "您只能看到并导出自己客户的数据" in page.text
    rows = csv_rows(browser.get("/exports/contact/download").content)
    assert [r["name"] for r in rows] == ["王小明"]
    refused = browser.get("/exports/audit_event/download")
    assert refused.status_code == 403 and "Traceback" not in refused.text


def test_mistakes_are_pages_not_tracebacks(session: Session, browser: Browser) -> None:
    make_staff(session, "li.na", "admin")
    signed_in(browser, "li.na")
    assert browser.get("/exports/nothing/download").status_code == 404
    bad = browser.get("/exports/contact/download?since=someday")
    assert bad.status_code == 422 and "someday" in bad.text
    assert browser.get("/exports/contact/download?format=xls").status_code == 422


def test_signing_in_comes_first(browser: Browser) -> None:
    response = browser.get("/exports/contact/download", follow_redirects=False)
    assert response.status_code in (302, 303, 307) and "/login" in response.headers["location"]
