"""The /rfm page: empty state, the heatmap's data and the segments table in zh and en, the
refresh button (CSRF, HTMX toast, roles), and the 360's lifecycle panel."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlalchemy.orm import Session

from siyu.analytics import rfm
from siyu.db.types import utcnow
from siyu.kit.actor import Actor
from tests.analytics.test_rfm import contact, order
from tests.console.conftest import Browser, make_staff


def buyers(session: Session, count: int = 8) -> list[int]:
    ids = []
    for n in range(count):
        person = contact(session, f"c{n}")
        for k in range(1 + n % 3):
            order(session, person, utcnow() - timedelta(days=5 * n + k + 1), 1500 * (n + 1))
        ids.append(person.id)
    session.flush()
    return ids


def test_the_page_before_any_scores_and_after_a_refresh(
    signed_in: Browser, session: Session
) -> None:
    page = signed_in.get("/rfm")
    assert page.status_code == 200
    assert "尚未计算" in page.text and "立即刷新" in page.text
    assert 'href="/rfm"' in page.text  # in the side navigation
    english = signed_in.get("/rfm", headers={"Accept-Language": "en"})
    assert "Not computed yet" in english.text and "Refresh now" in english.text

    buyers(session)
    done = signed_in.post("/rfm/refresh")
    assert done.status_code == 303 and done.headers["location"] == "/rfm"
    page = signed_in.get("/rfm")
    assert "已重新为 8 位买家评分。" in page.text  # the flash after the redirect
    assert "尚未计算" not in page.text
    assert "冠军客户" in page.text and "Champions" in page.text
    spec = json.loads(re.search(r'id="chart-rfm"[^>]*>(.*?)</script>', page.text, re.S)[1])
    assert sum(cell[2] for cell in spec["cells"]) == 8
    assert spec["x"] == ["F1", "F2", "F3", "F4", "F5"]
    assert spec["labels"] == {"contacts": "客户", "average": "平均消费"}
    english = signed_in.get("/rfm", headers={"Accept-Language": "en"}).text
    assert "Buyers by recency (R) and frequency (F)" in english
    assert "Average spend" in english


def test_the_refresh_button_with_htmx_and_its_guards(
    signed_in: Browser, browser: Browser, session: Session
) -> None:
    signed_in.get("/rfm")
    buyers(session, 3)
    swapped = signed_in.post("/rfm/refresh", headers={"HX-Request": "true"})
    assert swapped.status_code == 200
    toast = json.loads(swapped.headers["HX-Trigger"])["siyu:toast"]
    assert toast == {"message": "已重新为 3 位买家评分。", "level": "success"}
    assert 'id="rfm-report"' in swapped.text
    refused = signed_in.post("/rfm/refresh", {"csrf_token": "forged"})
    assert refused.status_code == 403


def test_a_viewer_sees_the_page_but_may_not_refresh(
    client_factory: object, session: Session
) -> None:
    make_staff(session, "kan", "viewer")
    viewer = Browser(client_factory())  # type: ignore[operator]
    assert viewer.sign_in("kan").status_code == 303
    assert viewer.get("/rfm").status_code == 200
    refused = viewer.post("/rfm/refresh", headers={"HX-Request": "true"})
    assert refused.status_code == 204
    assert json.loads(refused.headers["HX-Trigger"])["siyu:toast"]["level"] == "error"
    assert rfm.report(session, actor=Actor.cli())["computed_at"] is None


def test_the_360_shows_scores_segment_and_stage_history(
    signed_in: Browser, session: Session
) -> None:
    ids = buyers(session)
    text = signed_in.get(f"/customers/{ids[0]}").text
    assert "暂无 RFM 评分" in text
    rfm.refresh(session)
    text = signed_in.get(f"/customers/{ids[0]}").text
    score = rfm.score_of(session, ids[0])
    assert score is not None
    assert f"R{score['r']} F{score['f']} M{score['m']}" in text
    assert "生命周期" in text
    english = signed_in.get(f"/customers/{ids[0]}", headers={"Accept-Language": "en"}).text
    assert "Lifecycle" in english and f"RFM score {score['score']}" in english
