"""A small pool to export: Chinese text, NULLs, money, times, JSON, two staff members' customers,
a static segment and an API key and a staff password whose hashes must never leave."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from siyu.contacts.models import (
    Contact,
    ContactConsent,
    ContactIdentity,
    ContactNote,
    ContactOrder,
    ContactOrderLine,
)
from siyu.kit.actor import Actor
from siyu.segments.service import create_segment
from siyu.staff import service as staff_service
from siyu.staff.models import StaffUser

PLACED = datetime(2024, 3, 1, 2, 30, 15, 123456, tzinfo=UTC)  # 10:30 in Shanghai


@dataclass
class Pool:
    wang: Contact  # owned by xiaomei, two orders, in the segment
    zhang: Contact  # owned by nobody, NULL name and city
    li: Contact  # owned by the other staff member
    xiaomei: StaffUser
    other: StaffUser
    orders: list[ContactOrder]
    api_key_secret: str


def make_pool(session: Session) -> Pool:
    system = Actor.system()
    xiaomei = staff_service.create_staff(
        session, login="xiaomei", name="小美", role="staff", password="correct horse", actor=system
    )
    other = staff_service.create_staff(session, login="dawei", role="staff", actor=system)
    session.flush()
    _, secret = staff_service.create_api_key(session, name="sync", scopes=["read"], actor=system)
    wang = Contact(
        name="王小明",
        city="杭州",
        province="浙江",
        source="taobao",
        owner_id=xiaomei.id,
        traits={"肤质": "干性", "vip": True, "points": 12},
        order_count=2,
        total_spent=138_890,
        first_order_at=PLACED,
        last_order_at=PLACED,
        platforms="jd,taobao",
        lifecycle_stage="repeat",
    )
    zhang = Contact(name=None, city=None, source="jd", traits={}, lifecycle_stage="lead")
    li = Contact(name="李四", source="api", owner_id=other.id, traits={}, lifecycle_stage="lead")
    session.add_all([wang, zhang, li])
    session.flush()
    session.add_all(
        [
            ContactIdentity(contact_id=wang.id, kind="phone", value="+8613800138000"),
            ContactIdentity(contact_id=li.id, kind="email", value="li@example.com"),
            ContactConsent(contact_id=wang.id, channel="sms", granted=True, source="form"),
            ContactConsent(contact_id=li.id, channel="email", granted=False, source="unsubscribe"),
            ContactNote(contact_id=wang.id, body='喜欢清爽型，"不要"香味,\n换行', author="xiaomei"),
        ]
    )
    orders = [
        ContactOrder(
            contact_id=wang.id,
            platform="taobao",
            platform_order_id="T1001",
            status="completed",
            currency="CNY",
            total_amount=129_900,
            paid_amount=128_990,
            placed_at=PLACED,
            paid_at=None,
            receiver_name="王小明",
        ),
        ContactOrder(
            contact_id=wang.id,
            platform="jd",
            platform_order_id="J2001",
            status="paid",
            currency="USD",
            total_amount=9_900,
            paid_amount=9_900,
            placed_at=datetime(2024, 4, 2, 12, 0, tzinfo=UTC),
        ),
        ContactOrder(
            contact_id=li.id,
            platform="jd",
            platform_order_id="J2002",
            status="pending",
            currency="CNY",
            total_amount=100,
            placed_at=datetime(2024, 5, 1, tzinfo=UTC),
        ),
    ]
    session.add_all(orders)
    session.flush()
    session.add_all(
        [
            ContactOrderLine(
                order_id=orders[0].id,
                title="玫瑰精华",
                quantity=2,
                unit_price=49_950,
                amount=99_900,
            ),
            ContactOrderLine(
                order_id=orders[1].id, title="Toothbrush", quantity=1, unit_price=None, amount=9_900
            ),
            ContactOrderLine(
                order_id=orders[2].id, title="小样", quantity=1, unit_price=100, amount=100
            ),
        ]
    )
    create_segment(session, actor=system, name="复购客户", kind="static", members=[str(wang.id)])
    session.flush()
    return Pool(wang, zhang, li, xiaomei, other, orders, secret)


@pytest.fixture
def pool(session: Session) -> Pool:
    return make_pool(session)
