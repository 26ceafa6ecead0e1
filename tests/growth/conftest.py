"""Coupon test helpers: contacts, definitions, orders."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from siyu.contacts import service as contacts
from siyu.contacts.models import Contact, ContactOrder
from siyu.growth.coupons import service
from siyu.growth.coupons.models import GrowthCouponDefinition
from siyu.kit.actor import Actor

NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
CLI = Actor.cli()
PHONES = itertools.count(13800000000)
ORDERS = itertools.count(1)


def person(session: Session, name: str = "客户") -> Contact:
    return contacts.create_contact(
        session, actor=CLI, identities=[f"phone:{next(PHONES)}"], name=name
    )


def define(session: Session, name: str = "SPRING", **terms: Any) -> GrowthCouponDefinition:
    values: dict[str, Any] = {"kind": "fixed", "amount_off": 2000, "code_prefix": "SP"}
    values.update(terms)
    return service.create_definition(session, actor=CLI, name=name, **values)


def order(
    session: Session,
    contact: Contact,
    *,
    total: int = 10000,
    code: str | None = None,
    status: str = "paid",
    placed_at: datetime | None = None,
) -> ContactOrder:
    made = ContactOrder(
        contact_id=contact.id,
        platform="taobao",
        platform_order_id=f"T{next(ORDERS)}",
        status=status,
        total_amount=total,
        paid_amount=total,
        placed_at=placed_at or NOW - timedelta(hours=1),
        coupon_code=code,
    )
    session.add(made)
    session.flush()
    return made
