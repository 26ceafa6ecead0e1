"""The /clv page (empty state, estimates, the holdout chart and its CSV, the fit button and
its guards) and the customer 360's lifetime value panel, in zh and en."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.analytics.clv import service
from siyu.analytics.clv.tasks import CLV_FIT_JOB
from siyu.worker.models import Job
from tests.analytics.clv.pool import buyers
from tests.console.conftest import Browser, make_staff


def test_the_page_before_and_after_a_fit(signed_in: Browser, session: Session) -> None:
    page = signed_in.get("/clv")
    assert page.status_code == 200
    assert "尚未拟合" in page.text and "立即拟合" in page.text
    assert 'href="/clv"' in page.text  # in the side navigation
    english = signed_in.get("/clv", headers={"Accept-Language": "en"})
    assert "Not fitted yet" in english.text and "Fit now" in english.text

    buyers(session, 30)
    service.fit(session, until=date(2025, 9, 30), unit="week")
    # The check is made on request only; the form suggests halfway through the history.
    plain = signed_in.get("/clv")
    assert 'id="chart-clv"' not in plain.text and 'name="until" value="20' in plain.text
    page = signed_in.get("/clv?until=2025-05-31")
    assert "尚未拟合" not in page.text and "BG/NBD" in page.text and "Gamma-Gamma" in page.text
    assert "复购买家" in page.text
    spec = json.loads(re.search(r'id="chart-clv"[^>]*>(.*?)</script>', page.text, re.S)[1])
    assert spec["x"] == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert spec["labels"]["actual"] == "实际" and spec["labels"]["predicted"] == "预测"
    assert len(spec["actual"]) == len(spec["predicted"]) == 8

    download = signed_in.get("/clv?until=2025-05-31&format=csv")
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [row["frequency"] for row in rows] == spec["x"]
    assert sum(int(row["customers"]) for row in rows) > 0
    assert [float(row["predicted"]) for row in rows if row["predicted"]] == [
        p for p in spec["predicted"] if p is not None
    ]
    # A calibration end the check cannot use is said on the page, not raised.
    refused = signed_in.get("/clv?until=2020-01-01", headers={"Accept-Language": "en"})
    assert refused.status_code == 200 and "no purchase placed on or before 2020-01-01" in (
        refused.text
    )
    assert signed_in.get("/clv?until=nonsense&format=csv").status_code == 400


def test_the_fit_button_queues_a_job(signed_in: Browser, session: Session) -> None:
    signed_in.get("/clv")
    done = signed_in.post("/clv/fit")
    assert done.status_code == 303 and done.headers["location"] == "/clv"
    assert "已排队拟合" in signed_in.get("/clv").text
    swapped = signed_in.post("/clv/fit", headers={"HX-Request": "true"})
    toast = json.loads(swapped.headers["HX-Trigger"])["siyu:toast"]
    assert toast["level"] == "success"
    kinds = session.execute(select(Job.kind).where(Job.kind == CLV_FIT_JOB)).scalars().all()
    assert len(kinds) == 2
    assert signed_in.post("/clv/fit", {"csrf_token": "forged"}).status_code == 403


def test_a_viewer_sees_the_page_but_may_not_fit(client_factory: object, session: Session) -> None:
    make_staff(session, "kan", "viewer")
    viewer = Browser(client_factory())  # type: ignore[operator]
    assert viewer.sign_in("kan").status_code == 303
    assert viewer.get("/clv").status_code == 200
    refused = viewer.post("/clv/fit", headers={"HX-Request": "true"})
    assert refused.status_code == 204
    assert json.loads(refused.headers["HX-Trigger"])["siyu:toast"]["level"] == "error"
    assert session.execute(select(Job).where(Job.kind == CLV_FIT_JOB)).first() is None


def test_the_360_shows_the_predictions(signed_in: Browser, session: Session) -> None:
    ids = buyers(session, 30)
    before = signed_in.get(f"/customers/{ids[1]}")
    assert "暂无终生价值" in before.text
    service.fit(session, until=date(2025, 9, 30), unit="week")
    shown = service.prediction_of(session, ids[1])
    assert shown is not None
    page = signed_in.get(f"/customers/{ids[1]}")
    assert (
        'id="clv"' in page.text
        and "终生价值" in page.text
        and "未来 90 天预计购买次数" in page.text
    )
    assert f"¥{shown['clv'] // 100:,}" in page.text or f"{shown['clv'] // 100:,}" in page.text
    english = signed_in.get(f"/customers/{ids[1]}", headers={"Accept-Language": "en"}).text
    assert "Still a customer" in english and "Lifetime value, next 12 months" in english
    sidebar = signed_in.get(f"/customers/{ids[1]}?sidebar=1")
    assert 'id="clv"' in sidebar.text
