"""Exports in Siyu's canonical shapes; importing an order export back changes nothing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from siyu.contacts.models import (
    CONSENT_CHANNELS,
    Contact,
    ContactConsent,
    ContactIdentity,
    ContactOrder,
    ContactOrderLine,
    ContactTagLink,
    Tag,
)
from siyu.contacts.tags import tag_label
from siyu.ingest.formats.canonical import (
    CONTACT_COLUMNS,
    IDENTITY_COLUMNS,
    LIST_SEPARATOR,
    ORDER_COLUMNS,
    format_items,
)
from siyu.ingest.records import LineRecord
from siyu.kit.chunks import chunked
from siyu.kit.normalize import fen_to_yuan
from siyu.kit.timeutil import local_zone
from siyu.staff.models import StaffUser

# Which identity names a contact in the `customer` column: the most durable first.
PRIMARY_ORDER = (
    "external_id",
    "phone",
    "email",
    "wechat_unionid",
    "taobao_nick",
    "jd_pin",
    "youzan_buyer_id",
    "douyin_buyer_id",
    "pdd_buyer_id",
    "kuaishou_buyer_id",
    "wecom_external_userid",
    "wechat_openid",
    "receiver",
    "anonymous_id",
)
BATCH = 2000


def _identities(session: Session, ids: list[int]) -> dict[int, dict[str, list[str]]]:
    found: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    rows = session.execute(
        select(ContactIdentity.contact_id, ContactIdentity.kind, ContactIdentity.value)
        .where(ContactIdentity.contact_id.in_(ids))
        .order_by(ContactIdentity.contact_id, ContactIdentity.id)
    )
    for contact_id, kind, value in rows:
        found[contact_id][kind].append(value)
    return found


def primary(identities: dict[str, list[str]]) -> str:
    for kind in PRIMARY_ORDER:
        if identities.get(kind):
            return f"{kind}:{identities[kind][0]}"
    return ""


def _time(value: Any) -> str:
    return value.astimezone(local_zone()).isoformat() if value else ""


def order_rows(session: Session) -> Iterator[dict[str, Any]]:
    last_id = 0
    while True:
        orders = list(
            session.execute(
                select(ContactOrder)
                .where(ContactOrder.id > last_id)
                .order_by(ContactOrder.id)
                .limit(BATCH)
            ).scalars()
        )
        if not orders:
            return
        last_id = orders[-1].id
        contact_ids = sorted({o.contact_id for o in orders})
        identities = _identities(session, contact_ids)
        names = dict(
            session.execute(
                select(Contact.id, Contact.name).where(Contact.id.in_(contact_ids))
            ).all()
        )
        lines: dict[int, list[LineRecord]] = defaultdict(list)
        for line in session.execute(
            select(ContactOrderLine)
            .where(ContactOrderLine.order_id.in_([o.id for o in orders]))
            .order_by(ContactOrderLine.order_id, ContactOrderLine.line_no)
        ).scalars():
            lines[line.order_id].append(
                LineRecord(title=line.title, quantity=line.quantity, unit_price=line.unit_price)
            )
        for order in orders:
            known = identities[order.contact_id]
            row = {
                "order_id": order.platform_order_id,
                "platform": order.platform,
                "shop": order.shop,
                "placed_at": _time(order.placed_at),
                "paid_at": _time(order.paid_at),
                "completed_at": _time(order.completed_at),
                "status": order.status,
                "total": fen_to_yuan(order.total_amount),
                "paid": fen_to_yuan(order.paid_amount),
                "refunded": fen_to_yuan(order.refunded_amount),
                "shipping_fee": fen_to_yuan(order.shipping_fee),
                "discount": fen_to_yuan(order.discount_amount),
                "currency": order.currency,
                "coupon_code": order.coupon_code or "",
                "customer": primary(known),
                "name": names.get(order.contact_id) or "",
                "phone": (known.get("phone") or [""])[0],
                "email": (known.get("email") or [""])[0],
                "receiver_province": order.receiver_province or "",
                "receiver_city": order.receiver_city or "",
                "items": format_items(lines[order.id]),
            }
            yield {column: row[column] for column in ORDER_COLUMNS}


def contact_rows(session: Session, *, among: Select[Any] | None = None) -> Iterator[dict[str, Any]]:
    """Every contact, or those whose ids `among` selects (a segment's members)."""
    logins = dict(session.execute(select(StaffUser.id, StaffUser.login)).all())
    last_id = 0
    while True:
        query = select(Contact).where(Contact.id > last_id)
        if among is not None:
            query = query.where(Contact.id.in_(among))
        contacts = list(session.execute(query.order_by(Contact.id).limit(BATCH)).scalars())
        if not contacts:
            return
        last_id = contacts[-1].id
        ids = [c.id for c in contacts]
        identities = _identities(session, ids)
        tags: dict[int, list[str]] = defaultdict(list)
        for batch in chunked(ids, BATCH):
            for cid, group, name in session.execute(
                select(ContactTagLink.contact_id, Tag.tag_group, Tag.name)
                .join(Tag, Tag.id == ContactTagLink.tag_id)
                .where(ContactTagLink.contact_id.in_(batch))
                .order_by(Tag.tag_group, Tag.name)
            ):
                tags[cid].append(tag_label(group, name))
        consents: dict[int, dict[str, ContactConsent]] = defaultdict(dict)
        for consent in session.execute(
            select(ContactConsent).where(ContactConsent.contact_id.in_(ids))
        ).scalars():
            consents[consent.contact_id][consent.channel] = consent
        for contact in contacts:
            known = identities[contact.id]
            given = consents[contact.id]
            row: dict[str, Any] = {
                "customer": primary(known),
                "name": contact.name or "",
                "phone": LIST_SEPARATOR.join(known.get("phone", [])),
                "email": LIST_SEPARATOR.join(known.get("email", [])),
                **{kind: LIST_SEPARATOR.join(known.get(kind, [])) for kind in IDENTITY_COLUMNS},
                "tags": LIST_SEPARATOR.join(tags[contact.id]),
                "owner": logins.get(contact.owner_id, "") if contact.owner_id else "",
                "city": contact.city or "",
                "province": contact.province or "",
                **{
                    f"consent_{ch}": ("yes" if given[ch].granted else "no") if ch in given else ""
                    for ch in CONSENT_CHANNELS
                },
                "consent_purpose": next((c.purpose for c in given.values() if c.purpose), ""),
                "consent_at": _time(max((c.recorded_at for c in given.values()), default=None)),
            }
            yield {column: row[column] for column in CONTACT_COLUMNS}
