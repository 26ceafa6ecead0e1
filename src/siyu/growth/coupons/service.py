"""Coupon definitions: creating, changing state, finding, describing, and their figures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from siyu.audit import service as audit
from siyu.config import get_settings
from siyu.contacts.models import ContactOrder
from siyu.db.types import utcnow
from siyu.errors import Conflict, Invalid, NotFound
from siyu.growth.coupons.codes import PREFIX, yuan
from siyu.growth.coupons.models import (
    COUPON_KINDS,
    COUPON_STATES,
    GrowthCoupon,
    GrowthCouponDefinition,
)
from siyu.kit.actor import Actor
from siyu.kit.chunks import chunked
from siyu.kit.timeutil import isoformat
from siyu.staff.permissions import allow

MAX_STOCK = 100_000_000
MAX_VALID_DAYS = 3660


def create_definition(
    session: Session,
    *,
    actor: Actor,
    name: str,
    kind: str,
    amount_off: int = 0,
    percent_off: int = 0,
    minimum_spend: int = 0,
    code_prefix: str = "",
    description: str = "",
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    valid_days: int | None = None,
    limit_per_contact: int = 1,
    stock: int | None = None,
    currency: str | None = None,
) -> GrowthCouponDefinition:
    allow(actor, "reach")
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise Invalid("a coupon needs a name of 1 to 64 characters, e.g. SPRING")
    if session.scalar(select(GrowthCouponDefinition.id).where(GrowthCouponDefinition.name == name)):
        raise Conflict(f"there is already a coupon named {name!r}")
    if kind not in COUPON_KINDS:
        raise Invalid(f"kind {kind!r} is not one of {', '.join(COUPON_KINDS)}")
    if kind == "fixed" and not 0 < amount_off < 10**12:
        raise Invalid("a fixed coupon needs an amount off above ¥0")
    if kind == "percent" and not 0 < percent_off <= 100:
        raise Invalid("a percentage coupon needs a percent off from 1 to 100")
    if minimum_spend < 0 or minimum_spend >= 10**12:
        raise Invalid("the minimum spend must be ¥0 or more")
    prefix = (code_prefix or "").strip().upper()
    if not PREFIX.match(prefix):
        raise Invalid("a code prefix is up to 12 letters and digits, e.g. SPRING")
    for moment, label in ((valid_from, "valid_from"), (valid_until, "valid_until")):
        if moment is not None and moment.tzinfo is None:
            raise Invalid(f"{label} needs a time zone")
    if valid_from and valid_until and valid_until <= valid_from:
        raise Invalid("valid_until must come after valid_from")
    if valid_days is not None and not 0 < valid_days <= MAX_VALID_DAYS:
        raise Invalid(f"valid_days must be from 1 to {MAX_VALID_DAYS}")
    if not 0 < limit_per_contact <= 1000:
        raise Invalid("the limit per contact must be from 1 to 1000")
    if stock is not None and not 0 <= stock <= MAX_STOCK:
        raise Invalid(f"the stock must be from 0 to {MAX_STOCK:,}, or none for no limit")
    definition = GrowthCouponDefinition(
        name=name,
        kind=kind,
        amount_off=amount_off if kind == "fixed" else 0,
        percent_off=percent_off if kind == "percent" else 0,
        minimum_spend=minimum_spend,
        code_prefix=prefix,
        description=description or "",
        valid_from=valid_from,
        valid_until=valid_until,
        valid_days=valid_days,
        limit_per_contact=limit_per_contact,
        stock=stock,
        issued_count=0,
        state="active",
        currency=(currency or get_settings().currency).upper(),
        created_by=actor.label[:64],
    )
    session.add(definition)
    session.flush()
    audit.record(
        session,
        actor=actor.label,
        action="coupon.create",
        subject_type="coupon",
        subject_id=definition.id,
        name=name,
        kind=kind,
        stock=stock,
    )
    return definition


def get_definition(session: Session, ref: str | int) -> GrowthCouponDefinition:
    """By name, or by id when `ref` is a number that names no coupon."""
    text = str(ref).strip()
    found = session.scalar(
        select(GrowthCouponDefinition).where(GrowthCouponDefinition.name == text)
    )
    if found is None and text.isdigit() and len(text) < 19:
        found = session.get(GrowthCouponDefinition, int(text))
    if found is None:
        raise NotFound(f"there is no coupon {text!r}")
    return found


def list_definitions(session: Session, *, actor: Actor) -> list[GrowthCouponDefinition]:
    allow(actor, "read")
    return list(session.scalars(select(GrowthCouponDefinition).order_by(GrowthCouponDefinition.id)))


def set_state(
    session: Session, *, actor: Actor, definition: GrowthCouponDefinition, state: str
) -> None:
    """Paused and archived coupons issue no new codes; codes already held stay redeemable."""
    allow(actor, "reach")
    if state not in COUPON_STATES:
        raise Invalid(f"state {state!r} is not one of {', '.join(COUPON_STATES)}")
    before, definition.state = definition.state, state
    session.flush()
    audit.record(
        session,
        actor=actor.label,
        action="coupon.state",
        subject_type="coupon",
        subject_id=definition.id,
        before=before,
        after=state,
    )


def terms(definition: GrowthCouponDefinition) -> str:
    """What the coupon gives, in a line: ¥20 off over ¥100."""
    if definition.kind == "fixed":
        text = f"¥{yuan(definition.amount_off)} off"
    elif definition.kind == "percent":
        text = f"{definition.percent_off}% off"
    else:
        text = "free shipping"
    if definition.minimum_spend:
        text += f" over ¥{yuan(definition.minimum_spend)}"
    return text


def describe(definition: GrowthCouponDefinition) -> dict[str, Any]:
    return {
        "id": definition.id,
        "name": definition.name,
        "description": definition.description,
        "kind": definition.kind,
        "amount_off": definition.amount_off,
        "percent_off": definition.percent_off,
        "minimum_spend": definition.minimum_spend,
        "currency": definition.currency,
        "terms": terms(definition),
        "code_prefix": definition.code_prefix,
        "valid_from": isoformat(definition.valid_from),
        "valid_until": isoformat(definition.valid_until),
        "valid_days": definition.valid_days,
        "limit_per_contact": definition.limit_per_contact,
        "stock": definition.stock,
        "issued_count": definition.issued_count,
        "remaining": None
        if definition.stock is None
        else max(definition.stock - definition.issued_count, 0),
        "state": definition.state,
        "created_at": isoformat(definition.created_at),
    }


def status_of(coupon: GrowthCoupon, now: datetime | None = None) -> str:
    if coupon.redeemed_at is not None:
        return "redeemed"
    now = now or utcnow()
    if coupon.expired_at is not None or (
        coupon.expires_at is not None and coupon.expires_at <= now
    ):
        return "expired"
    return "live"


def describe_coupon(coupon: GrowthCoupon, now: datetime | None = None) -> dict[str, Any]:
    return {
        "id": coupon.id,
        "code": coupon.code,
        "definition_id": coupon.definition_id,
        "contact_id": coupon.contact_id,
        "status": status_of(coupon, now),
        "source": coupon.source,
        "source_ref": coupon.source_ref,
        "issued_at": isoformat(coupon.issued_at),
        "expires_at": isoformat(coupon.expires_at),
        "redeemed_at": isoformat(coupon.redeemed_at),
        "order_id": coupon.order_id,
        "order_ref": coupon.order_ref,
        "order_amount": coupon.order_amount,
    }


def stats(
    session: Session, *, definition_ids: list[int] | None = None, now: datetime | None = None
) -> dict[int, dict[str, Any]]:
    """Per definition: issued, redeemed, expired, live, redemption rate and the revenue of the
    redeeming orders (paid less refunded; the amount given at redemption where no order is
    known). One aggregate query."""
    now = now or utcnow()
    coupon, order = GrowthCoupon.__table__, ContactOrder.__table__
    redeemed = coupon.c.redeemed_at.is_not(None)
    expired = coupon.c.redeemed_at.is_(None) & (
        coupon.c.expired_at.is_not(None) | (coupon.c.expires_at <= now)
    )
    revenue = case(
        (
            redeemed,
            func.coalesce(order.c.paid_amount - order.c.refunded_amount, coupon.c.order_amount, 0),
        ),
        else_=0,
    )
    query = (
        select(
            coupon.c.definition_id,
            func.count(),
            func.count(coupon.c.redeemed_at),
            func.sum(case((expired, 1), else_=0)),
            func.sum(revenue),
        )
        .select_from(coupon.outerjoin(order, order.c.id == coupon.c.order_id))
        .group_by(coupon.c.definition_id)
    )
    if definition_ids is not None:
        query = query.where(coupon.c.definition_id.in_(definition_ids))
    figures: dict[int, dict[str, Any]] = {i: _figures(0, 0, 0, 0) for i in (definition_ids or [])}
    for definition_id, issued, used, gone, money in session.execute(query):
        figures[definition_id] = _figures(int(issued), int(used), int(gone or 0), int(money or 0))
    return figures


def _figures(issued: int, redeemed: int, expired: int, revenue: int) -> dict[str, Any]:
    return {
        "issued": issued,
        "redeemed": redeemed,
        "expired": expired,
        "live": issued - redeemed - expired,
        "redemption_rate": round(redeemed / issued, 4) if issued else 0.0,
        "revenue": revenue,
    }


def coupons_of(
    session: Session, *, definition: GrowthCouponDefinition, limit: int = 50
) -> list[GrowthCoupon]:
    return list(
        session.scalars(
            select(GrowthCoupon)
            .where(GrowthCoupon.definition_id == definition.id)
            .order_by(GrowthCoupon.id.desc())
            .limit(limit)
        )
    )


def contact_coupons(session: Session, *, contact_id: int) -> list[tuple[GrowthCoupon, str]]:
    """A contact's codes, newest first, with their coupon's name."""
    rows = session.execute(
        select(GrowthCoupon, GrowthCouponDefinition.name)
        .join(GrowthCouponDefinition, GrowthCouponDefinition.id == GrowthCoupon.definition_id)
        .where(GrowthCoupon.contact_id == contact_id)
        .order_by(GrowthCoupon.id.desc())
    ).all()
    return [(row[0], row[1]) for row in rows]


def live_codes(
    session: Session, contact_ids: list[int], *, now: datetime | None = None
) -> dict[int, dict[str, str]]:
    """contact → coupon name → the newest unused, unexpired code: what `{{ coupon("SPRING") }}`
    shows in a message. Reading only: a message never issues a code as it is written."""
    now = now or utcnow()
    coupon = GrowthCoupon.__table__
    found: dict[int, dict[str, str]] = {}
    if session.scalar(select(coupon.c.id).limit(1)) is None:  # no codes: nothing to look up
        return found
    for batch in chunked(sorted(set(contact_ids)), 2000):
        rows = session.execute(
            select(coupon.c.contact_id, GrowthCouponDefinition.name, coupon.c.code)
            .join(GrowthCouponDefinition, GrowthCouponDefinition.id == coupon.c.definition_id)
            .where(
                coupon.c.contact_id.in_(batch),
                coupon.c.redeemed_at.is_(None),
                coupon.c.expired_at.is_(None),
                (coupon.c.expires_at.is_(None)) | (coupon.c.expires_at > now),
            )
            .order_by(coupon.c.id)
        )
        for contact_id, name, code in rows:
            found.setdefault(contact_id, {})[name] = code  # later rows are newer
    return found
