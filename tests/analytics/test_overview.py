"""The pool at a glance, computed from a small known pool."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from siyu.analytics.overview import overview
from siyu.contacts import service
from siyu.ingest.service import import_file
from siyu.kit.actor import Actor
from siyu.staff.service import create_staff

NOW = datetime(2024, 6, 30, 12, tzinfo=UTC)
ORDERS = """order_id,platform,placed_at,status,total,currency,customer,refunded
A1,taobao,2024-01-10 10:00,completed,100,CNY,taobao_nick:a,
A2,taobao,2024-06-20 10:00,completed,50,CNY,taobao_nick:a,10
B1,jd,2024-06-25 10:00,completed,30,CNY,jd_pin:b,
B2,jd,2024-06-26 10:00,cancelled,99,CNY,jd_pin:b,
C1,jd,2024-03-01 10:00,pending,20,CNY,jd_pin:c,
"""


def test_overview_figures(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS, encoding="utf-8")
    import_file(session, path)
    service.create_contact(session, actor=Actor.cli(), identities=["phone:13800138000"])
    data = overview(session, actor=Actor.cli(), now=NOW)
    assert (data["pool_size"], data["buyers"], data["repeat_buyers"]) == (4, 2, 1)
    assert data["repurchase_rate"] == 0.5
    # Joined in the 7 days before NOW: B by its first order (06-25). A first bought in January;
    # C and the new contact were recorded after NOW (today), so not in NOW's week.
    assert data["new_this_week"] == 1
    # Last 30 days: A2 (50 - 10 refunded) and B1; the cancelled B2 and older orders do not count.
    assert data["revenue_30d_by_platform"] == [
        {"platform": "jd", "orders": 1, "revenue": 3000},
        {"platform": "taobao", "orders": 1, "revenue": 4000},
    ]
    assert data["revenue_30d"] == 7000
    assert {"platform": "taobao", "buyers": 1} in data["buyers_by_platform"]
    growth = {(g["month"], g["source"]): g["new_contacts"] for g in data["growth_by_source"]}
    # Buyers join in the month of their first order (in Asia/Shanghai), others when recorded.
    assert growth[("2024-01", "taobao")] == 1
    assert growth[("2024-06", "jd")] == 1
    # C only ever had a pending order: not a buyer, so C joined when first recorded (today).
    assert ("2024-03", "jd") not in growth
    assert sum(growth.values()) == data["pool_size"]


def test_staff_see_only_their_own_customers_figures(session: Session, tmp_path: Path) -> None:
    mei = create_staff(session, login="mei", role="staff", actor=Actor.cli())
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS, encoding="utf-8")
    import_file(session, path)
    contact = service.get_by_ref(session, "taobao_nick:a")
    service.update_contact(session, contact=contact, actor=Actor.cli(), changes={"owner": "mei"})
    data = overview(session, actor=Actor("staff:mei", staff_id=mei.id, role="staff"), now=NOW)
    assert (data["pool_size"], data["buyers"], data["repeat_buyers"]) == (1, 1, 1)
    assert [r["platform"] for r in data["revenue_30d_by_platform"]] == ["taobao"]
