"""The reports on a small pool whose every figure is worked out by hand below.

Local times (Asia/Shanghai), yuan:
    a (taobao): 01-05 100, 01-20 50, 03-10 80       three purchases on three days
    b (taobao): 01-15 200                             one
    c (jd):     02-01 60 and 40 (one day), 05-01 30   three orders on two days
    d (jd):     02-10 cancelled, 02-11 pending        no purchase
    e (taobao): 03-05 90, refunded in full            a purchase worth nothing
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from siyu.analytics import reports
from siyu.analytics.scope import parse_scope
from siyu.contacts import service as contacts
from siyu.errors import Invalid, NotFound
from siyu.ingest.service import import_file
from siyu.kit.actor import Actor
from siyu.segments import service as segments
from siyu.staff.service import create_staff

ORDERS = """order_id,platform,placed_at,status,total,currency,customer,refunded
A1,taobao,2025-01-05 10:00,completed,100,CNY,taobao_nick:a,
A2,taobao,2025-01-20 10:00,completed,50,CNY,taobao_nick:a,
A3,taobao,2025-03-10 10:00,paid,80,CNY,taobao_nick:a,
B1,taobao,2025-01-15 10:00,completed,200,CNY,taobao_nick:b,
C1,jd,2025-02-01 09:00,completed,60,CNY,jd_pin:c,
C2,jd,2025-02-01 21:00,completed,40,CNY,jd_pin:c,
C3,jd,2025-05-01 10:00,shipped,30,CNY,jd_pin:c,
D1,jd,2025-02-10 10:00,cancelled,70,CNY,jd_pin:d,
D2,jd,2025-02-11 10:00,pending,70,CNY,jd_pin:d,
E1,taobao,2025-03-05 10:00,refunded,90,CNY,taobao_nick:e,90
"""
ADMIN = Actor.cli()


@pytest.fixture
def pool(session: Session, tmp_path: Path) -> Session:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS, encoding="utf-8")
    import_file(session, path)
    return session


def scope(session: Session, **given: object) -> object:
    return parse_scope(session, **given)  # type: ignore[arg-type]


def test_repurchase_frequency_and_order_value(pool: Session) -> None:
    data = reports.dashboard(pool, actor=ADMIN, scope=scope(pool))
    assert data["summary"] == {
        "buyers": 4,
        "repeat_buyers": 2,
        "orders": 8,
        "revenue": 56000,
        "repurchase_rate": 0.5,
        "purchase_frequency": 2.0,
        "average_order_value": 7000,
    }
    platforms = {row["platform"]: row for row in data["by_platform"]}
    assert platforms["taobao"]["buyers"] == 3
    assert platforms["taobao"]["repeat_buyers"] == 1
    assert platforms["taobao"]["revenue"] == 43000
    assert platforms["jd"]["orders"] == 3
    assert platforms["jd"]["repurchase_rate"] == 1.0
    assert data["orders_read"] == 8


def test_the_range_and_platform_filter(pool: Session) -> None:
    # February and March only: c's day in February, a's and e's purchases in March.
    data = reports.repurchase(
        pool, actor=ADMIN, scope=scope(pool, since="2025-02-01", until="2025-03-31")
    )
    assert data["summary"]["buyers"] == 3
    assert data["summary"]["orders"] == 4
    assert data["summary"]["repeat_buyers"] == 1  # c: two orders on 02-01
    jd = reports.repurchase(pool, actor=ADMIN, scope=scope(pool, platforms="jd"))
    assert jd["summary"]["buyers"] == 1
    assert jd["summary"]["revenue"] == 13000
    assert jd["scope"]["platforms"] == ["jd"]


def test_repurchase_within_days_of_the_first_purchase(pool: Session) -> None:
    # The data ends on 05-01; a window counts only customers it has fully run for.
    within = {
        row["days"]: row
        for row in reports.repurchase(pool, actor=ADMIN, scope=scope(pool))["repurchase_within"]
    }
    assert (within[30]["customers"], within[30]["repurchased"]) == (4, 1)  # a, 15 days
    assert (within[60]["customers"], within[60]["repurchased"]) == (3, 1)  # e is too recent
    assert (within[90]["customers"], within[90]["repurchased"]) == (2, 1)  # a and b settled
    assert within[90]["rate"] == 0.5
    assert within[365]["customers"] == 0 and within[365]["rate"] is None


def test_days_between_orders(pool: Session) -> None:
    gaps = reports.dashboard(pool, actor=ADMIN, scope=scope(pool))["days_between_orders"]
    # a: 15 and 49 days; c: 89 (two orders on one day are one purchase).
    assert gaps["gaps"] == 3
    assert gaps["median_days"] == 49
    counts = {row["days"]: row["gaps"] for row in gaps["buckets"]}
    assert counts == {"1-7": 0, "8-14": 0, "15-30": 1, "31-60": 1, "61-90": 1, "91-180": 0,
                      "181-365": 0, ">365": 0}  # fmt: skip


def test_new_and_returning_revenue(pool: Session) -> None:
    months = {
        row["month"]: row
        for row in reports.dashboard(pool, actor=ADMIN, scope=scope(pool))["new_and_returning"]
    }
    assert months["2025-01"] == {
        "month": "2025-01",
        "new_revenue": 30000,
        "returning_revenue": 5000,
        "new_customers": 2,
    }
    assert months["2025-02"]["new_revenue"] == 10000  # both of c's first-day orders
    assert months["2025-03"] == {
        "month": "2025-03",
        "new_revenue": 0,
        "returning_revenue": 8000,
        "new_customers": 1,
    }
    assert months["2025-04"]["new_revenue"] == months["2025-04"]["returning_revenue"] == 0
    assert months["2025-05"]["returning_revenue"] == 3000


def test_cohorts_follow_each_month_of_first_buyers(pool: Session) -> None:
    data = reports.cohorts(pool, actor=ADMIN, scope=scope(pool, since="2025-01-01"))
    assert data["months"] == [0, 1, 2, 3, 4]
    rows = {row["cohort"]: row for row in data["cohorts"]}
    january = rows["2025-01"]
    assert january["customers"] == 2
    assert january["retention"] == [1.0, 0.0, 0.5, 0.0, 0.0]
    assert january["revenue_per_customer"] == [17500, 17500, 21500, 21500, 21500]
    february = rows["2025-02"]
    assert february["active"] == [1, 0, 0, 1]
    assert february["revenue_per_customer"] == [10000, 10000, 10000, 13000]
    assert rows["2025-03"]["retention"] == [1.0, 0.0, 0.0]
    assert list(rows) == ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05"]
    assert rows["2025-04"]["customers"] == 0


def test_a_segment_and_a_staff_members_own_customers(pool: Session) -> None:
    segments.create_segment(pool, actor=ADMIN, name="big spenders", query="total_spent > ¥150")
    data = reports.dashboard(pool, actor=ADMIN, scope=scope(pool, segment="big spenders"))
    assert data["summary"]["buyers"] == 2  # a (230) and b (200)
    assert data["scope"]["segment"] == "big spenders"
    clerk = create_staff(pool, login="clerk", actor=ADMIN, role="staff", password="x" * 12)
    contacts.get_by_ref(pool, "jd_pin:c").owner_id = clerk.id
    pool.flush()
    reports.forget()
    mine = reports.dashboard(
        pool, actor=Actor("staff:clerk", staff_id=clerk.id, role="staff"), scope=scope(pool)
    )
    assert mine["summary"]["buyers"] == 1
    assert mine["summary"]["revenue"] == 13000
    everyone = reports.dashboard(pool, actor=ADMIN, scope=scope(pool))
    assert everyone["summary"]["buyers"] == 4  # the clerk's figures were kept apart


def test_a_report_is_kept_until_its_orders_are_read_again(pool: Session, tmp_path: Path) -> None:
    first = reports.dashboard(pool, actor=ADMIN, scope=scope(pool))
    assert reports.dashboard(pool, actor=ADMIN, scope=scope(pool)) is first
    more = tmp_path / "more.csv"
    more.write_text(
        ORDERS.splitlines()[0] + "\nB2,taobao,2025-05-01 12:00,paid,10,CNY,taobao_nick:b,\n"
    )
    import_file(pool, more)
    reports.forget()
    again = reports.dashboard(pool, actor=ADMIN, scope=scope(pool))
    assert again["summary"]["orders"] == 9
    assert again["summary"]["repeat_buyers"] == 3


def test_bad_filters_say_which_field(pool: Session) -> None:
    with pytest.raises(Invalid, match="since"):
        parse_scope(pool, since="the spring")
    with pytest.raises(Invalid, match="must come before"):
        parse_scope(pool, since="2025-03-01", until="2025-02-01")
    with pytest.raises(NotFound, match="segment"):
        parse_scope(pool, segment="nobody here")


def test_an_empty_pool_has_no_figures_but_no_error(session: Session) -> None:
    data = reports.dashboard(session, actor=ADMIN, scope=scope(session))
    assert data["summary"]["buyers"] == 0
    assert data["summary"]["repurchase_rate"] is None
    assert reports.cohorts(session, actor=ADMIN, scope=scope(session))["cohorts"] == []


def test_growth_and_the_funnel_follow_the_filters(pool: Session) -> None:
    segments.create_segment(pool, actor=ADMIN, name="big spenders", query="total_spent > ¥150")
    data = reports.dashboard(pool, actor=ADMIN, scope=scope(pool, segment="big spenders"))
    assert data["funnel"]["total"]["visitors"] == 2
    assert sum(r["contacts"] for r in data["growth"]["by_source"]) == 2
    jd = reports.dashboard(pool, actor=ADMIN, scope=scope(pool, platforms="jd"))
    assert sum(r["contacts"] for r in jd["growth"]["by_source"]) == 1  # c; d never paid
