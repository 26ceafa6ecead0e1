"""Lead to deal in the console: the 360's lifecycle stage and activity feed (events and orders
by time, paged), and the /funnel page."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.contacts import service
from siyu.contacts.models import Contact
from siyu.events.models import Event, EventSource
from siyu.kit.actor import Actor
from tests.analytics.test_funnel import seed
from tests.console.conftest import Browser, make_staff

START = datetime(2024, 6, 1, 8, tzinfo=UTC)
HTMX = {"HX-Request": "true"}


def add_events(session: Session, contact: Contact, count: int) -> None:
    source = EventSource(name="官网", prefix=f"sywk_{contact.id}", secret_hash="0" * 64)
    session.add(source)
    session.flush()
    for n in range(count):
        kind = ("page", "track", "identify")[n % 3]
        session.add(
            Event(
                source_id=source.id,
                contact_id=contact.id,
                type=kind,
                name="add_to_cart" if kind == "track" else None,
                message_id=f"m-{contact.id}-{n}",
                anonymous_id="a-1",
                user_id="shop-user-7" if kind == "identify" else None,
                properties={"path": f"/p/{n}"} if kind == "page" else {"sku": f"TEA-{n}"},
                context={},
                timestamp=START + timedelta(days=n),
                received_at=START + timedelta(days=n),
            )
        )
    session.flush()


@pytest.fixture
def people(session: Session, tmp_path: Path) -> dict[str, Contact]:
    return seed(session, tmp_path)


def test_the_360_shows_stage_and_events_with_orders_by_time(
    signed_in: Browser, session: Session, people: dict[str, Contact]
) -> None:
    twice = people["twice"]
    add_events(session, twice, 3)  # 06-01 page, 06-02 add_to_cart, 06-03 identify
    text = signed_in.get(f"/customers/{twice.id}").text
    # Its orders are of 2024: past the churn horizon.
    assert 'class="badge stage stage-churned"' in text
    assert "已流失" in text
    feed = text.split('id="activity"', 1)[1]
    # Newest first: the order of 06-20, the three events, then the order of 05-11.
    order = [feed.index(s) for s in ("R2", "shop-user-7", "add_to_cart", "/p/0", "R1")]
    assert order == sorted(order)
    assert "sku: TEA-1" in feed
    assert "显示更多动态" not in feed
    visitor = signed_in.get(f"/customers/{people['visitor'].id}").text
    assert 'class="badge stage stage-visitor"' in visitor
    assert "暂无动态" in visitor
    lead = signed_in.get(f"/customers/{people['lead'].id}").text
    assert 'class="badge stage stage-lead"' in lead


def test_activity_pages_with_htmx_and_without(
    signed_in: Browser, session: Session, people: dict[str, Contact]
) -> None:
    twice = people["twice"]
    add_events(session, twice, 23)  # with the two orders: 25 items, 20 on the first page
    text = signed_in.get(f"/customers/{twice.id}").text
    feed = text.split('id="activity"', 1)[1]
    assert feed.count('class="activity-item') == 20
    more = re.search(r'hx-get="(/customers/\d+/activity\?cursor=[^"]+)"', feed).group(1)
    rows = signed_in.get(more.replace("&amp;", "&"), headers=HTMX).text
    assert "<html" not in rows
    assert rows.count('class="activity-item') == 5
    assert "R1" in rows and "显示更多动态" not in rows
    page = signed_in.get(more.replace("&amp;", "&"))
    assert page.status_code == 200 and "<html" in page.text and "R1" in page.text
    assert signed_in.get(f"/customers/{twice.id}/activity?cursor=nonsense").status_code == 422


def test_staff_see_activity_of_their_own_customers_only(
    client_factory: Callable[[], TestClient], session: Session, people: dict[str, Contact]
) -> None:
    make_staff(session, "wang.fang", "staff")
    mine = people["once"]
    service.update_contact(session, contact=mine, actor=Actor.cli(), changes={"owner": "wang.fang"})
    add_events(session, people["twice"], 2)
    staff = Browser(client_factory())
    assert staff.sign_in("wang.fang").status_code == 303
    assert staff.get(f"/customers/{mine.id}/activity", headers=HTMX).status_code == 200
    other = staff.get(f"/customers/{people['twice'].id}/activity")
    assert other.status_code == 403 and "add_to_cart" not in other.text
    # The funnel counts only their own customers.
    funnel = staff.get("/funnel").text
    assert re.search(r'"value": 1\b', funnel) and '"value": 5' not in funnel


def test_funnel_page_shows_chart_data_and_tables(
    signed_in: Browser, people: dict[str, Contact]
) -> None:
    response = signed_in.get("/funnel")
    assert response.status_code == 200
    text = response.text
    assert "线索到成交" in text and 'data-funnel="chart-funnel"' in text
    assert '"name": "访客", "value": 5' in text and '"name": "复购", "value": 1' in text
    source_table = text.split("按来源", 1)[1]
    for source in ("淘宝", "京东"):
        assert source in source_table
    assert "20.0%" in text  # visitors to repeat buyers, overall
    assert 'href="/funnel"' in text  # in the navigation
    empty = signed_in.get("/funnel?days=30").text  # seeded today: still all five
    assert '"value": 5' in empty
    assert signed_in.get("/funnel?days=7").status_code == 200  # not a period: the whole pool
