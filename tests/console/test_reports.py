"""The reports in the console: the dashboard, the cohort heatmap, acquisition cost with spend
entered by form and CSV, campaign return, filters that go wrong, and every chart as CSV."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from sqlalchemy.orm import Session

from siyu.ingest.service import import_file
from tests.analytics.test_reports import ORDERS
from tests.console.conftest import Browser, make_staff


def pool(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS, encoding="utf-8")
    import_file(session, path)
    session.flush()


def chart(page: str, name: str) -> dict:
    return json.loads(re.search(rf'id="{name}"[^>]*>(.*?)</script>', page, re.S)[1])


def test_the_dashboard_in_both_languages(
    signed_in: Browser, session: Session, tmp_path: Path
) -> None:
    empty = signed_in.get("/reports")
    assert empty.status_code == 200
    assert 'href="/reports"' in empty.text  # in the side navigation
    pool(session, tmp_path)
    page = signed_in.get("/reports", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "What the pool earns" in page.text
    figures = re.search(r'class="figures".*?</section>', page.text, re.S)[0]
    assert "50.0%" in figures  # the repurchase rate
    assert "CN¥70.00" in figures and "CN¥560.00" in figures
    spec = chart(page.text, "chart-repurchase")
    assert spec["series"][0]["data"] == [100.0, 33.3]  # jd, taobao
    gaps = chart(page.text, "chart-gaps")
    assert sum(gaps["series"][0]["data"]) == 3
    zh = signed_in.get("/reports").text
    assert "复购率" in zh and "数据 CSV" in zh


def test_filters_and_a_mistake_in_them(
    signed_in: Browser, session: Session, tmp_path: Path
) -> None:
    pool(session, tmp_path)
    jd = signed_in.get("/reports?platform=jd", headers={"Accept-Language": "en"}).text
    assert chart(jd, "chart-repurchase")["categories"] == ["JD"]
    wrong = signed_in.get("/reports?since=spring", headers={"Accept-Language": "en"})
    assert wrong.status_code == 200
    assert "not a date" in wrong.text and "Showing the whole pool instead." in wrong.text
    assert 'value="spring"' in wrong.text  # what was typed is kept


def test_every_chart_as_csv(signed_in: Browser, session: Session, tmp_path: Path) -> None:
    pool(session, tmp_path)
    for name in (
        "repurchase",
        "within",
        "gaps",
        "new_returning",
        "revenue",
        "channels",
        "growth",
        "codes",
        "cohorts",
    ):
        response = signed_in.get(f"/reports/data/{name}.csv?since=2025-01-01")
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith("text/csv")
        assert response.content.startswith(b"\xef\xbb\xbf")  # Excel reads the Chinese right
    rows = list(
        csv.DictReader(
            io.StringIO(signed_in.get("/reports/data/cohorts.csv").content.decode("utf-8-sig"))
        )
    )
    january = [r for r in rows if r["cohort"] == "2025-01"]
    assert [r["active"] for r in january] == ["2", "0", "1", "0", "0"]
    assert signed_in.get("/reports/data/nothing.csv").status_code == 404


def test_the_cohort_heatmap(signed_in: Browser, session: Session, tmp_path: Path) -> None:
    pool(session, tmp_path)
    page = signed_in.get(
        "/reports/cohorts?since=2025-01-01", headers={"Accept-Language": "en"}
    ).text
    spec = chart(page, "chart-cohorts")
    assert spec["y"][:3] == ["2025-01", "2025-02", "2025-03"]
    assert [0, 0, 100.0] in spec["cells"] and [2, 0, 50.0] in spec["cells"]
    revenue = chart(
        signed_in.get("/reports/cohorts?since=2025-01-01&show=revenue").text, "chart-cohorts"
    )
    assert [2, 0, 215.0] in revenue["cells"]  # ¥215 per January customer by March


def test_spend_by_form_and_csv_and_the_cost_per_customer(
    signed_in: Browser, session: Session, tmp_path: Path
) -> None:
    pool(session, tmp_path)
    saved = signed_in.post(
        "/reports/spend", data={"month": "2025-01", "channel": "taobao", "amount": "¥300"}
    )
    assert saved.status_code == 303
    upload = signed_in.post(
        "/reports/spend/import",
        files={
            "file": (
                "spend.csv",
                b"month,channel,amount\n2025-02,jd,90\n2025-13,jd,1\n",
                "text/csv",
            )
        },
    )
    assert upload.status_code == 303
    page = signed_in.get("/reports/acquisition", headers={"Accept-Language": "en"}).text
    assert "已保存 1 条，跳过 1 行。" in page  # the flash speaks the language of the upload
    assert "spend.csv line 3, month" in page
    # taobao: ¥300 for a and b (January's first buyers from taobao), so ¥150 each.
    rows = list(
        csv.DictReader(
            io.StringIO(
                signed_in.get("/reports/acquisition?format=csv").content.decode("utf-8-sig")
            )
        )
    )
    taobao = next(r for r in rows if r["month"] == "2025-01" and r["channel"] == "taobao")
    assert (taobao["spend_fen"], taobao["customers"], taobao["cost_per_customer_fen"]) == (
        "30000",
        "2",
        "15000",
    )
    jd = next(r for r in rows if r["month"] == "2025-02" and r["channel"] == "jd")
    assert jd["cost_per_customer_fen"] == "9000"
    wrong = signed_in.post("/reports/spend", data={"month": "May", "channel": "jd", "amount": "1"})
    assert wrong.status_code == 303
    assert (
        "is not a month"
        in signed_in.get("/reports/acquisition", headers={"Accept-Language": "en"}).text
    )


def test_viewers_read_reports_but_do_not_enter_spend(
    browser: Browser, session: Session, tmp_path: Path
) -> None:
    make_staff(session, "kan", "viewer")
    assert browser.sign_in("kan").status_code == 303
    browser.get("/")  # the token changes at sign-in
    assert browser.get("/reports").status_code == 200
    browser.post("/reports/spend", data={"month": "2025-01", "channel": "taobao", "amount": "1"})
    page = browser.get("/reports/acquisition", headers={"Accept-Language": "en"}).text
    assert "may not" in page
    assert "No spend entered yet." in page


def test_campaign_return_page(signed_in: Browser, session: Session) -> None:
    page = signed_in.get("/reports/returns", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "Nothing sent in this view" in page.text
    assert signed_in.get("/reports/returns?format=csv").status_code == 200


def test_the_older_charts_offer_their_data_too(
    signed_in: Browser, session: Session, tmp_path: Path
) -> None:
    pool(session, tmp_path)
    home = signed_in.get("/").text
    assert 'href="/?csv=growth"' in home
    for url, header in [
        ("/?csv=growth", "month,source,new_contacts"),
        ("/?csv=revenue", "platform,orders,revenue_fen"),
        ("/?csv=buyers", "platform,buyers"),
        ("/rfm?csv=grid", "recency_score,frequency_score,buyers,average_monetary_fen"),
        ("/funnel?csv=1", "source,visitors,leads,first_order,repeat_order"),
    ]:
        response = signed_in.get(url)
        assert response.status_code == 200, url
        assert response.content.decode("utf-8-sig").splitlines()[0] == header, url
    funnel = signed_in.get("/funnel?csv=1").content.decode("utf-8-sig").splitlines()
    assert funnel[-1] == "(all),5,5,4,2"
