"""Importing a shop export in the browser: upload, preview, confirm, follow the job, summary."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import Shots
from tests.ingest import exports as ex

ORDERS = 4
ADDRESSES = (
    "上海 上海市 浦东新区 张江镇 碧波路690号(201203)",
    "浙江省 杭州市 西湖区 文三路90号(310012)",
    "北京 北京市 朝阳区 建国路88号(100022)",
    "广东省 深圳市 南山区 科技园南区深南大道9996号(518057)",
)


def _taobao_export(folder: Path) -> Path:
    """A Taobao order report as the back office writes it (GBK, ="…" ids, extra columns), with
    one row whose order time is not a time, so the summary has a rejected row to show."""
    rows = [
        ex.taobao_row(
            f"48112345670{i}",
            f"浏览器买家{i}",
            **{
                "买家支付宝账号": f"buyer{i}@example.com",
                "联系手机": f"'1391234560{i}",
                "收货人姓名": f"顾客{i}",
                "收货地址 ": ADDRESSES[i],
            },
        )
        for i in range(ORDERS)
    ]
    rows.append(ex.taobao_row("481123456799", "浏览器买家9", **{"订单创建时间": "not a time"}))
    return ex.write_csv(
        folder / "ExportOrderList202611051200.csv", ex.shuffled(ex.TAOBAO_2019), rows
    )


def test_import_a_file_and_follow_it_to_the_summary(
    as_admin: Page, shots: Shots, tmp_path: Path
) -> None:
    page = as_admin
    page.goto("/imports")
    page.get_by_label("File").set_input_files(_taobao_export(tmp_path))
    page.get_by_role("button", name="Upload and preview").click()

    expect(page).to_have_url(re.compile(r"/imports/preview/"))
    expect(page.get_by_role("heading", name="Check the file before importing")).to_be_visible()
    expect(page.locator(".figure", has_text="Detected format")).to_contain_text("Taobao/Tmall")
    preview = page.locator(".import-preview table")
    expect(preview.locator("tbody tr")).to_have_count(ORDERS + 1)
    expect(preview).to_contain_text("浏览器买家0")
    shots.take()
    page.get_by_role("button", name="Confirm and import").click()

    expect(page).to_have_url(re.compile(r"/imports/\d+$"))
    expect(page.locator(".toast")).to_contain_text("The import has started.")
    status = page.locator("#import-status")
    expect(status.locator("progress")).to_be_attached()
    shots.take("job")
    # HTMX polls the status block until the worker is done; the summary replaces the bar.
    expect(status.locator(".job-state")).to_have_text("Finished", timeout=30_000)
    figures = status.locator(".figure")
    expect(figures.filter(has_text="Rows read")).to_contain_text(str(ORDERS + 1))
    expect(figures.filter(has_text="Orders created")).to_contain_text(str(ORDERS))
    expect(figures.filter(has_text="Customers created")).to_contain_text(str(ORDERS))
    expect(figures.filter(has_text="Rows rejected")).to_contain_text("1")
    expect(status.get_by_role("table")).to_contain_text("订单创建时间")
    expect(status.get_by_role("link", name="Download the error report (CSV)")).to_be_visible()
    shots.readme("imports")

    page.goto("/imports")
    history = page.locator(".import-history table")
    expect(history.locator("tbody tr").first).to_contain_text("ExportOrderList202611051200.csv")
    expect(history.locator("tbody tr").first).to_contain_text("Finished")
