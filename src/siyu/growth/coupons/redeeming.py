"""Redeeming codes: one at a time through the API, and from imported orders that carry one.

A code is redeemed by a conditional UPDATE (`… WHERE redeemed_at IS NULL`): of two
redemptions at once exactly one changes the row, the other is told the code is used.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.audit import service as audit
from siyu.contacts.models import PURCHASE_STATUSES, ContactOrder
from siyu.db.types import utcnow
from siyu.errors import Conflict, Invalid, NotFound
from siyu.growth.coupons.codes import normalise_code, yuan
from siyu.growth.coupons.models import GrowthCoupon, GrowthCouponDefinition
from siyu.kit.actor import Actor
from siyu.kit.chunks import chunked
from siyu.kit.timeutil import isoformat
from siyu.segments import pending
from siyu.staff.permissions import allow

COUPON = GrowthCoupon.__table__
DEFINITION = GrowthCouponDefinition.__table__
ORDER = ContactOrder.__table__


def find(session: Session, code: str) -> tuple[GrowthCoupon, GrowthCouponDefinition]:
    text = normalise_code(code)
    row = (
        session.execute(
            select(GrowthCoupon, GrowthCouponDefinition)
            .join(GrowthCouponDefinition, GrowthCouponDefinition.id == GrowthCoupon.definition_id)
            .where(GrowthCoupon.code == text)
        ).one_or_none()
        if text
        else None
    )
    if row is None:
        raise NotFound(f"there is no coupon with the code {code!r}")
    return row[0], row[1]


def redeem(
    session: Session,
    *,
    actor: Actor,
    code: str,
    order_ref: str | None = None,
    amount: int | None = None,
    now: datetime | None = None,
) -> GrowthCoupon:
    """Redeem a code for an order (`order_ref`: a stored order's id, or `platform:id`, or any
    reference of the till) and/or its amount in fen, which must reach the minimum spend."""
    allow(actor, "edit")
    now = now or utcnow()
    coupon, definition = find(session, code)
    order = _order(session, order_ref) if order_ref else None
    if amount is not None and amount < 0:
        raise Invalid("the amount must be ¥0 or more")
    if amount is None and order is not None:
        amount = int(order.total_amount)
    if coupon.redeemed_at is not None:
        raise Conflict(
            f"coupon {coupon.code} was already redeemed at {isoformat(coupon.redeemed_at)}"
        )
    if coupon.expired_at or (coupon.expires_at is not None and coupon.expires_at <= now):
        raise Invalid(f"coupon {coupon.code} expired at {isoformat(coupon.expires_at)}")
    if definition.valid_from is not None and now < definition.valid_from:
        raise Invalid(f"coupon {coupon.code} is valid from {isoformat(definition.valid_from)}")
    if amount is not None and amount < definition.minimum_spend:
        raise Invalid(
            f"¥{yuan(amount)} is below the minimum spend of "
            f"¥{yuan(definition.minimum_spend)} for coupon {definition.name}"
        )
    if order is not None and session.scalar(
        select(COUPON.c.code).where(COUPON.c.order_id == order.id)
    ):
        raise Conflict(f"order {order_ref} has redeemed a coupon already")
    changed = session.execute(
        update(COUPON)
        .where(COUPON.c.id == coupon.id, COUPON.c.redeemed_at.is_(None))
        .values(
            redeemed_at=now,
            order_id=order.id if order is not None else None,
            order_ref=(order_ref or None) and order_ref[:64],
            order_amount=amount,
        )
    ).rowcount
    if not changed:
        raise Conflict(f"coupon {coupon.code} was already redeemed")
    session.refresh(coupon)
    pending.mark(session, [coupon.contact_id])
    audit.record(
        session,
        actor=actor.label,
        action="coupon.redeem",
        subject_type="coupon",
        subject_id=definition.id,
        code=coupon.code,
        contact_id=coupon.contact_id,
        order_ref=order_ref,
        amount=amount,
    )
    return coupon


def _order(session: Session, ref: str) -> ContactOrder | None:
    ref = ref.strip()
    platform, sep, order_id = ref.partition(":")
    query = select(ContactOrder)
    if sep:
        query = query.where(
            ContactOrder.platform == platform.lower(), ContactOrder.platform_order_id == order_id
        )
    else:
        query = query.where(ContactOrder.platform_order_id == ref)
    found = list(session.scalars(query.limit(2)))
    if len(found) > 1:
        raise Invalid(f"order {ref!r} is on more than one platform; write it as platform:{ref}")
    return found[0] if found else None


@dataclass
class FromOrders:
    redeemed: int = 0
    unknown: int = 0  # codes no coupon of Siyu's carries (the shop's own, or mistyped)
    refused: int = 0  # known codes an order could not redeem: used, expired, below the minimum

    def as_dict(self) -> dict[str, int]:
        return {"redeemed": self.redeemed, "unknown": self.unknown, "refused": self.refused}


def redeem_from_orders(
    session: Session, *, contact_ids: Iterable[int], now: datetime | None = None
) -> FromOrders:
    """Paid orders of these contacts that carry a code redeem it, once: an order redeems one
    code, a code one order (the earliest), in the coupon's currency, placed while the code was
    valid and reaching its minimum spend. Called once an import has written its orders."""
    now = now or utcnow()
    counts = FromOrders()
    # A merchant without codes pays nothing: reading every touched contact's orders costs
    # seconds on a million-row import.
    if session.scalar(select(COUPON.c.id).limit(1)) is None:
        return counts
    ids = sorted({int(i) for i in contact_ids})
    wanted: dict[int, tuple[int, datetime, int, str]] = {}
    refused: set[int] = set()
    for batch in chunked(ids, 2000):
        # As normalise_code writes it: no spaces or dashes, upper case.
        code = func.upper(
            func.replace(func.replace(func.trim(ORDER.c.coupon_code), "-", ""), " ", "")
        )
        rows = session.execute(
            select(
                ORDER.c.id,
                ORDER.c.placed_at,
                ORDER.c.paid_at,
                ORDER.c.total_amount,
                ORDER.c.currency,
                ORDER.c.platform,
                ORDER.c.platform_order_id,
                COUPON.c.id.label("coupon_id"),
                COUPON.c.redeemed_at,
                COUPON.c.order_id.label("redeemed_by"),
                COUPON.c.expires_at,
                DEFINITION.c.minimum_spend,
                DEFINITION.c.currency.label("coupon_currency"),
                DEFINITION.c.valid_from,
            )
            .select_from(
                ORDER.outerjoin(COUPON, COUPON.c.code == code).outerjoin(
                    DEFINITION, DEFINITION.c.id == COUPON.c.definition_id
                )
            )
            .where(
                ORDER.c.contact_id.in_(batch),
                ORDER.c.coupon_code.is_not(None),
                ORDER.c.coupon_code != "",
                ORDER.c.status.in_(PURCHASE_STATUSES),
            )
            .order_by(ORDER.c.placed_at, ORDER.c.id)
        ).all()
        for row in rows:
            if row.coupon_id is None:
                counts.unknown += 1
                continue
            if row.redeemed_by == row.id:
                continue  # this order redeemed it in an earlier import
            placed = row.placed_at
            usable = (
                row.redeemed_at is None
                and (row.expires_at is None or placed < row.expires_at)
                and (row.valid_from is None or placed >= row.valid_from)
                and row.currency == row.coupon_currency
                and row.total_amount >= row.minimum_spend
                and row.coupon_id not in wanted
            )
            if usable:
                ref = f"{row.platform}:{row.platform_order_id}"[:64]
                wanted[row.coupon_id] = (row.id, row.paid_at or placed, row.total_amount, ref)
            else:
                refused.add(row.id)
    taken: set[int] = (
        set(
            session.scalars(
                select(COUPON.c.order_id).where(
                    COUPON.c.order_id.in_([order_id for order_id, *_ in wanted.values()])
                )
            )
        )
        if wanted
        else set()
    )
    redeemed_ids: list[int] = []
    for coupon_id, (order_id, at, amount, ref) in wanted.items():
        if order_id in taken:
            refused.add(order_id)
            continue
        changed = session.execute(
            update(COUPON)
            .where(COUPON.c.id == coupon_id, COUPON.c.redeemed_at.is_(None))
            .values(redeemed_at=at, order_id=order_id, order_ref=ref, order_amount=amount)
        ).rowcount
        if changed:
            counts.redeemed += 1
            taken.add(order_id)
            redeemed_ids.append(coupon_id)
        else:
            refused.add(order_id)
    counts.refused = len(refused)
    if redeemed_ids:
        owners = session.scalars(
            select(COUPON.c.contact_id).where(COUPON.c.id.in_(redeemed_ids))
        ).all()
        pending.mark(session, owners)
    return counts


def expire(session: Session, *, now: datetime | None = None) -> int:
    """Mark the codes whose time ran out unredeemed; returns how many."""
    now = now or utcnow()
    due = (
        COUPON.c.redeemed_at.is_(None),
        COUPON.c.expired_at.is_(None),
        COUPON.c.expires_at.is_not(None),
        COUPON.c.expires_at <= now,
    )
    owners = session.scalars(select(COUPON.c.contact_id).where(*due).distinct()).all()
    count = session.execute(update(COUPON).where(*due).values(expired_at=now)).rowcount
    pending.mark(session, owners)
    return int(count or 0)
