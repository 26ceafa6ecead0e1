"""The home page, error pages, static files, and the API left as it was."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.db.types import utcnow
from siyu.ingest.service import import_file
from siyu.kit.timeutil import local_zone
from tests.api.conftest import make_app
from tests.console.conftest import Browser


@pytest.fixture
def app(session: Session) -> FastAPI:
    """An app of this module's own: it changes its templates."""
    return make_app(session, fresh=True)


def _seed(session: Session, tmp_path: Path) -> None:
    def when(days: int) -> str:
        return (utcnow() - timedelta(days=days)).astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")

    rows = [
        f"A1,taobao,{when(200)},completed,100,CNY,taobao_nick:a",
        f"A2,taobao,{when(3)},completed,1234.5,CNY,taobao_nick:a",
        f"B1,jd,{when(2)},completed,30,CNY,jd_pin:b",
        f"C1,jd,{when(1)},cancelled,99,CNY,jd_pin:c",
    ]
    path = tmp_path / "orders.csv"
    header = "order_id,platform,placed_at,status,total,currency,customer"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    import_file(session, path)


def _chart(html: str, element_id: str) -> dict:
    match = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html)
    assert match, element_id
    return json.loads(match.group(1))


def test_home_shows_the_pools_figures(signed_in: Browser, session: Session, tmp_path: Path) -> None:
    _seed(session, tmp_path)
    page = signed_in.get("/")
    assert page.status_code == 200
    text = page.text
    # Pool of 3; buyers a and b; a bought twice: repurchase 1 of 2 = 50%.
    assert re.search(r'figure-label">客户池总人数</div>\s*<div class="figure-value">3<', text)
    assert "50.0%" in text and "2 位购买客户中有 1 位复购" in text
    # New this week: b (first order 2 days ago) and c (recorded today, never bought).
    assert re.search(r'本周新增</div>\s*<div class="figure-value">2<', text)
    # Revenue in 30 days: A2 ¥1,234.50 + B1 ¥30.00; the cancelled order does not count.
    assert "¥1,264.50" in text and "¥1,234.50" in text
    assert "淘宝" in text and "京东" in text
    revenue = _chart(text, "chart-revenue")
    assert revenue["money"] == "CNY"
    assert {d["name"]: d["value"] for d in revenue["series"][0]["data"]} == {
        "京东": 30.0,
        "淘宝": 1234.5,
    }
    growth = _chart(text, "chart-growth")
    assert growth["stack"] is True
    assert sum(sum(s["data"]) for s in growth["series"]) == 3


def test_home_in_english(signed_in: Browser, session: Session, tmp_path: Path) -> None:
    _seed(session, tmp_path)
    signed_in.get("/lang/en")
    text = signed_in.get("/").text
    assert "Customers in the pool" in text
    assert "CN¥1,264.50" in text
    assert "Taobao" in text


def test_empty_pool_says_what_to_do(signed_in: Browser) -> None:
    text = signed_in.get("/").text
    assert "还没有客户" in text
    assert 'href="/imports"' in text


def test_layout_has_navigation_switcher_and_logout(signed_in: Browser) -> None:
    text = signed_in.get("/").text
    for href in ("/", "/customers", "/imports", "/handover", "/audit", "/settings"):
        assert f'<a href="{href}"' in text
    assert 'action="/logout"' in text
    assert "/lang/en?next=/" in text
    assert 'name="viewport"' in text
    assert '"X-CSRF-Token"' in text


def test_pages_not_built_yet_answer_with_a_friendly_404(signed_in: Browser) -> None:
    response = signed_in.get("/nothing-here")
    assert response.status_code == 404
    assert "页面不存在" in response.text and "返回首页" in response.text
    assert "Traceback" not in response.text


def test_unknown_page_when_signed_out_is_friendly_too(client: TestClient) -> None:
    response = client.get("/no/such/page", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert response.headers["content-type"].startswith("text/html")


def test_api_errors_stay_problem_json(client: TestClient) -> None:
    response = client.get("/api/v1/contacts")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_console_pages_are_not_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "/login" not in paths and "/" not in paths


def test_static_files_are_served(client: TestClient) -> None:
    assert "--brand" in client.get("/static/siyu.css").text
    assert client.get("/static/siyu.js").status_code == 200
    assert client.get("/static/nothing.css").status_code == 404


def test_pages_work_without_the_vendor_files(browser: Browser, app: object) -> None:
    templates = app.state.console_templates  # type: ignore[attr-defined]
    templates.vendor = {"htmx": False, "echarts": False}
    for env in templates.environments.values():
        env.globals["vendor"] = templates.vendor
    page = browser.get("/login")
    assert page.status_code == 200
    assert "htmx.min.js" not in page.text and "echarts.min.js" not in page.text
    assert '<form method="post" action="/login"' in page.text
