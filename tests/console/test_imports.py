"""The imports pages: upload, preview, confirm, the job's progress and summary, the error report,
cancelling, history and who may import. The worker runs in other transactions than the page, so
these tests commit: each has a database of its own."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from siyu.api.app import create_app
from siyu.audit.models import AuditEvent
from siyu.config import get_settings
from siyu.db.session import get_engine, unit_of_work
from siyu.worker.models import Job
from siyu.worker.runner import run_once
from tests.console.conftest import Browser, make_staff
from tests.ingest import exports as ex

ROLES = {"li.na": "admin", "wang.fang": "operator", "zhao.lei": "staff", "chen.jing": "viewer"}
Console = Callable[[str], Browser]


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def console(database_url: str, uploads: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Console]:
    """Sign a staff member of each role in, each in a browser of their own, over a committed
    database; uploads go to a temporary folder."""
    monkeypatch.setenv("SIYU_UPLOAD_DIR", str(uploads))
    get_settings.cache_clear()
    with unit_of_work() as session:
        for login, role in ROLES.items():
            make_staff(session, login, role)
    app = create_app()
    clients: list[TestClient] = []

    def sign_in(login: str) -> Browser:
        client = TestClient(app, raise_server_exceptions=False).__enter__()
        clients.append(client)
        browser = Browser(client)
        assert browser.sign_in(login).status_code == 303
        browser.get("/imports")
        return browser

    yield sign_in
    for client in clients:
        client.__exit__(None, None, None)


def taobao_export(path: Path, *, bad: bool = False) -> Path:
    rows = [
        ex.taobao_row("8001", "小王"),
        ex.taobao_row(
            "8002",
            "小李",
            买家支付宝账号="li@example.com",
            收货人姓名="李女士",
            联系手机="'13800138000",
        ),
    ]
    if bad:
        rows.insert(1, ex.taobao_row("8003", "bad", 买家实际支付金额="2O1.12"))  # line 3
    return ex.write_csv(path, ex.shuffled(ex.TAOBAO_2019), rows, encoding="gbk")


def upload(browser: Browser, path: Path, **data: str):  # type: ignore[no-untyped-def]
    return browser.post(
        "/imports",
        {"format": "auto", **data},
        files={"file": (path.name, path.read_bytes(), "text/csv")},
    )


def staged(browser: Browser, path: Path) -> str:
    """Upload a file and follow to its preview; returns the preview's URL."""
    response = upload(browser, path)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert re.fullmatch(r"/imports/preview/[0-9a-f]{32}\?format=auto", location)
    return location


def test_upload_preview_confirm_run_and_summary(
    console: Console, tmp_path: Path, uploads: Path
) -> None:
    admin = console("li.na")
    preview_url = staged(admin, taobao_export(tmp_path / "订单报表.csv"))
    preview = admin.get(preview_url)
    assert preview.status_code == 200, preview.text
    text = preview.text
    assert "淘宝/天猫订单报表" in text  # the detected format, in Chinese
    assert "订单报表.csv" in text
    assert "买家会员名" in text and "小王" in text and "小李" in text  # header and first rows
    assert re.search(r'figure-label">行数</div>\s*<div class="figure-value">2<', text)
    assert "确认导入" in text and "取消并删除文件" in text

    token = preview_url.split("/")[3].split("?")[0]
    confirmed = admin.post(f"/imports/preview/{token}/confirm", {"format": "auto"})
    assert confirmed.status_code == 303, confirmed.text
    job_url = confirmed.headers["location"]
    job_id = int(job_url.rsplit("/", 1)[1])

    waiting = admin.get(job_url)
    assert waiting.status_code == 200
    assert "导入已开始" in waiting.text  # the flash
    assert 'hx-trigger="every 1s"' in waiting.text
    assert f'hx-get="/imports/{job_id}/progress"' in waiting.text
    assert 'http-equiv="refresh"' in waiting.text  # without JavaScript the page reloads
    # Confirmed once: the staged upload is no longer there to confirm again.
    assert admin.post(f"/imports/preview/{token}/confirm", {}).status_code == 404

    assert run_once(get_engine()) is True

    partial = admin.get(f"/imports/{job_id}/progress", headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert "<html" not in partial.text  # only the status block
    assert "hx-trigger" not in partial.text  # polling stops
    assert "siyu:toast" in partial.headers["hx-trigger"]

    done = admin.get(job_url).text
    assert "已完成" in done
    assert re.search(r'figure-label">读取行数</div>\s*<div class="figure-value">2<', done)
    assert re.search(r'figure-label">新建订单</div>\s*<div class="figure-value">2<', done)
    assert re.search(r'figure-label">新建客户</div>\s*<div class="figure-value">2<', done)
    assert "errors.csv" not in done  # nothing rejected, no report to download
    with unit_of_work() as session:
        job = session.get_one(Job, job_id)
        assert job.created_by == "staff:li.na"
        assert session.execute(
            select(AuditEvent.actor).where(AuditEvent.action == "import.file")
        ).scalars().all() == ["staff:li.na"]

    history = admin.get("/imports").text
    assert f'href="/imports/{job_id}"' in history and "订单报表.csv" in history


def test_the_error_report_lists_the_bad_rows(console: Console, tmp_path: Path) -> None:
    operator = console("wang.fang")
    preview_url = staged(operator, taobao_export(tmp_path / "orders.csv", bad=True))
    token = preview_url.split("/")[3].split("?")[0]
    job_url = operator.post(f"/imports/preview/{token}/confirm", {"format": "auto"}).headers[
        "location"
    ]
    assert run_once(get_engine())
    page = operator.get(job_url).text
    assert re.search(r'figure-label">被拒绝的行数</div>\s*<div class="figure-value">1<', page)
    assert re.search(r'<td class="num">3</td><td>[^<]*买家实际支付金额', page)
    assert f'href="{job_url}/errors.csv"' in page

    report = operator.get(f"{job_url}/errors.csv")
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/csv")
    assert "attachment" in report.headers["content-disposition"]
    assert "orders.errors.csv" in report.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["line", "reason"]
    assert [r[0] for r in rows[1:]] == ["3"]
    assert "8003" in ",".join(rows[1])

    # Store staff see only their own customers: the whole file's rows are not for them.
    assert console("zhao.lei").get(f"{job_url}/errors.csv").status_code == 403
    # Nobody signed in is sent to the login page.
    anonymous = TestClient(operator.client.app, raise_server_exceptions=False)
    assert anonymous.get(f"{job_url}/errors.csv", follow_redirects=False).status_code == 303


def test_a_report_outside_the_upload_folder_is_never_served(
    console: Console, tmp_path: Path
) -> None:
    admin = console("li.na")
    token = staged(admin, taobao_export(tmp_path / "orders.csv", bad=True)).split("/")[3]
    token = token.split("?")[0]
    job_url = admin.post(f"/imports/preview/{token}/confirm", {"format": "auto"}).headers[
        "location"
    ]
    assert run_once(get_engine())
    secret = tmp_path / "secret.csv"
    secret.write_text("line,reason\n1,not for you\n", encoding="utf-8")
    with unit_of_work() as session:
        job = session.get_one(Job, int(job_url.rsplit("/", 1)[1]))
        job.result = {**(job.result or {}), "error_report": str(secret)}
    report = admin.get(f"{job_url}/errors.csv")
    assert report.status_code == 200
    assert "not for you" not in report.text  # read from the database instead
    assert "3," in report.text


def test_a_file_that_is_no_export_gets_a_clear_message(console: Console, tmp_path: Path) -> None:
    admin = console("li.na")
    budget = ex.write_csv(
        tmp_path / "月度预算.csv", ["项目", "金额", "备注"], [{"项目": "房租", "金额": "5000"}]
    )
    page = admin.get(staged(admin, budget))
    assert page.status_code == 422
    assert "这个文件不是 Siyu 能识别的导出文件" in page.text
    assert "项目, 金额, 备注" in page.text
    assert "确认导入" not in page.text  # nothing to confirm
    assert "取消并删除文件" in page.text

    # Not even a table: a damaged spreadsheet.
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    page = admin.get(staged(admin, broken))
    assert page.status_code == 422
    assert "无法读取这个文件" in page.text

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    refused = upload(admin, empty)
    assert refused.status_code == 422
    assert "无法使用这个文件" in refused.text and "empty" in refused.text


def test_a_spreadsheet_preview(console: Console, tmp_path: Path) -> None:
    admin = console("li.na")
    rows = [ex.douyin_row(f"49{n:015d}", f"49{n:015d}1") for n in range(12)]
    path = ex.write_xlsx(tmp_path / "抖店.xlsx", ex.DOUYIN, rows)
    page = admin.get(staged(admin, path)).text
    assert "抖店订单导出" in page
    assert re.search(r'figure-label">行数</div>\s*<div class="figure-value">12<', page)
    assert page.count("<tr>") == 1 + 10  # the header and the first ten rows


def test_cancel_deletes_the_upload(console: Console, tmp_path: Path, uploads: Path) -> None:
    admin = console("li.na")
    preview_url = staged(admin, taobao_export(tmp_path / "orders.csv"))
    token = preview_url.split("/")[3].split("?")[0]
    assert (uploads / token / "orders.csv").is_file()
    # Another browser cannot cancel (or see) this upload.
    other = console("wang.fang")
    assert other.get(preview_url).status_code == 404
    assert other.post(f"/imports/preview/{token}/cancel").status_code == 404
    assert (uploads / token / "orders.csv").is_file()

    cancelled = admin.post(f"/imports/preview/{token}/cancel")
    assert cancelled.status_code == 303
    assert cancelled.headers["location"] == "/imports"
    assert not (uploads / token).exists()
    assert "已取消，上传的文件已删除" in admin.get("/imports").text
    assert admin.get(preview_url).status_code == 404
    assert run_once(get_engine()) is False  # nothing was queued


def test_history_is_newest_first_and_paginated(console: Console, tmp_path: Path) -> None:
    admin = console("li.na")
    empty = admin.get("/imports").text
    assert "还没有导入记录" in empty
    with unit_of_work() as session:
        from siyu.ingest.tasks import IMPORT_JOB
        from siyu.worker.queue import enqueue

        for n in range(25):
            enqueue(
                session,
                kind=IMPORT_JOB,
                created_by="staff:li.na",
                payload={
                    "path": "/nonexistent",
                    "file_name": f"file-{n:02d}.csv",
                    "format": "auto",
                },
            )
    first = admin.get("/imports").text
    names = re.findall(r"file-(\d\d)\.csv", first)
    assert names == [f"{n:02d}" for n in range(24, 4, -1)]  # 20 a page, newest first
    older = re.search(r'href="(/imports\?before=\d+)" rel="next"', first)
    assert older and 'rel="prev"' not in first
    second = admin.get(older.group(1)).text
    assert re.findall(r"file-(\d\d)\.csv", second) == [f"{n:02d}" for n in range(4, -1, -1)]
    newer = re.search(r'href="(/imports\?after=\d+)" rel="prev"', second)
    assert newer and 'rel="next"' not in second
    assert re.findall(r"file-(\d\d)\.csv", admin.get(newer.group(1)).text) == names


@pytest.mark.parametrize("login", ["zhao.lei", "chen.jing"])
def test_staff_and_viewers_may_not_import(console: Console, tmp_path: Path, login: str) -> None:
    browser = console(login)
    page = browser.get("/imports")
    assert page.status_code == 200  # they may follow past imports
    assert 'enctype="multipart/form-data"' not in page.text
    assert "只有管理员和运营可以导入文件" in page.text
    refused = upload(browser, taobao_export(tmp_path / "orders.csv"))
    assert refused.status_code == 403
    assert "只有管理员和运营可以导入文件" in refused.text
    assert not list((tmp_path / "uploads").rglob("orders.csv"))  # nothing was written


def test_upload_needs_the_csrf_token(console: Console, tmp_path: Path) -> None:
    admin = console("li.na")
    response = upload(admin, taobao_export(tmp_path / "orders.csv"), csrf_token="forged")
    assert response.status_code == 403
    assert not list((tmp_path / "uploads").rglob("orders.csv"))
