"""Shop orders as the API and CLI show them: newest first, with their lines."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from siyu.contacts.models import Contact, ContactOrder, ContactOrderLine
from siyu.errors import Invalid, NotFound
from siyu.kit.actor import Actor
from siyu.kit.pagination import Page, decode_cursor, encode_cursor, is_id
from siyu.kit.timeutil import isoformat
from siyu.staff.permissions import allow, check_contact, owns_only, scope_contacts


def order_dict(order: ContactOrder, lines: list[ContactOrderLine] | None = None) -> dict[str, Any]:
    data = {
        "id": order.id,
        "contact_id": order.contact_id,
        "platform": order.platform,
        "shop": order.shop,
        "platform_order_id": order.platform_order_id,
        "status": order.status,
        "currency": order.currency,
        "total_amount": order.total_amount,
        "paid_amount": order.paid_amount,
        "refunded_amount": order.refunded_amount,
        "shipping_fee": order.shipping_fee,
        "discount_amount": order.discount_amount,
        "placed_at": isoformat(order.placed_at),
        "paid_at": isoformat(order.paid_at),
        "completed_at": isoformat(order.completed_at),
        "coupon_code": order.coupon_code,
        "receiver_province": order.receiver_province,
        "receiver_city": order.receiver_city,
    }
    if lines is not None:
        data["lines"] = [
            {
                "line_no": li.line_no,
                "title": li.title,
                "sku": li.sku,
                "quantity": li.quantity,
                "unit_price": li.unit_price,
                "amount": li.amount,
            }
            for li in lines
        ]
    return data


def list_orders(
    session: Session,
    *,
    contact_id: int | None = None,
    platform: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    actor: Actor | None = None,
) -> Page:
    """Orders, newest first, with their lines; cursor-paginated on (placed_at, id).

    With an actor, only orders of the contacts that actor may see.
    """
    query = select(ContactOrder).order_by(ContactOrder.placed_at.desc(), ContactOrder.id.desc())
    if actor is not None:
        allow(actor, "read")
        if owns_only(actor):
            visible = scope_contacts(select(Contact.id), actor)
            query = query.where(ContactOrder.contact_id.in_(visible))
    if contact_id is not None:
        query = query.where(ContactOrder.contact_id == contact_id)
    if platform:
        query = query.where(ContactOrder.platform == platform)
    if cursor:
        placed, last_id = decode_cursor(cursor, 2)
        placed_at: datetime | None
        try:
            placed_at = datetime.fromisoformat(str(placed))
            placed_at = placed_at.astimezone(UTC) if placed_at.tzinfo else None
        except (ValueError, OverflowError):
            placed_at = None
        if placed_at is None or not is_id(last_id):
            raise Invalid(f"cursor {cursor!r} is not one this server gave out")
        query = query.where(
            or_(
                ContactOrder.placed_at < placed_at,
                (ContactOrder.placed_at == placed_at) & (ContactOrder.id < int(last_id)),
            )
        )
    orders = list(session.execute(query.limit(limit + 1)).scalars())
    more = len(orders) > limit
    orders = orders[:limit]
    lines: dict[int, list[ContactOrderLine]] = {o.id: [] for o in orders}
    if orders:
        for line in session.execute(
            select(ContactOrderLine)
            .where(ContactOrderLine.order_id.in_(list(lines)))
            .order_by(ContactOrderLine.order_id, ContactOrderLine.line_no)
        ).scalars():
            lines[line.order_id].append(line)
    items = [order_dict(o, lines[o.id]) for o in orders]
    next_cursor = encode_cursor(orders[-1].placed_at.isoformat(), orders[-1].id) if more else None
    return Page(items=items, next_cursor=next_cursor)


def get_order(session: Session, order_id: int, actor: Actor | None = None) -> dict[str, Any]:
    order = session.get(ContactOrder, order_id)
    if order is None:
        raise NotFound(f"no order with id {order_id}")
    if actor is not None:
        check_contact(actor, session.get_one(Contact, order.contact_id), "read")
    lines = list(
        session.execute(
            select(ContactOrderLine)
            .where(ContactOrderLine.order_id == order_id)
            .order_by(ContactOrderLine.line_no)
        ).scalars()
    )
    return order_dict(order, lines)
