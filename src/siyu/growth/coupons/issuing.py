"""Issuing codes: by hand, to a segment, from a journey, a form, a referral or a task.

Every issue takes the definition's row lock first (an UPDATE, which locks on PostgreSQL and
takes SQLite's write lock), then counts stock and each contact's codes under it, so two
issues at once can neither pass the stock nor a contact's limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.audit import service as audit
from siyu.contacts.models import Contact
from siyu.db.bulk import insert_rows
from siyu.db.types import utcnow
from siyu.errors import Conflict, Invalid, NotFound
from siyu.growth.coupons.codes import new_code
from siyu.growth.coupons.models import ISSUE_SOURCES, GrowthCoupon, GrowthCouponDefinition
from siyu.kit.actor import Actor
from siyu.kit.chunks import chunked
from siyu.kit.timeutil import isoformat
from siyu.segments import pending
from siyu.segments.models import Segment, SegmentMember
from siyu.staff.permissions import allow

DEFINITION = GrowthCouponDefinition.__table__
COUPON = GrowthCoupon.__table__
CODE_ATTEMPTS = 3


@dataclass
class Issued:
    """What an issue did: new codes by contact, codes this source had issued before, and the
    contacts left out because they hold their limit or the stock ran out."""

    codes: dict[int, str] = field(default_factory=dict)
    already: dict[int, str] = field(default_factory=dict)
    at_limit: list[int] = field(default_factory=list)
    out_of_stock: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "issued": len(self.codes),
            "already_issued": len(self.already),
            "at_limit": len(self.at_limit),
            "out_of_stock": len(self.out_of_stock),
            "codes": {str(k): v for k, v in self.codes.items()},
        }


def issue(
    session: Session,
    *,
    actor: Actor,
    coupon: GrowthCouponDefinition,
    contact_ids: Iterable[int],
    source: str = "manual",
    source_ref: str | None = None,
    now: datetime | None = None,
) -> Issued:
    """One code to each contact that may have one more. With `source_ref` (a journey step's
    run, a referral's id) issuing again for the same reference returns the code given then."""
    allow(actor, "reach")
    if source not in ISSUE_SOURCES:
        raise Invalid(f"source {source!r} is not one of {', '.join(ISSUE_SOURCES)}")
    if source_ref is not None and not 0 < len(source_ref) <= 200:
        raise Invalid("a source reference is 1 to 200 characters")
    now = now or utcnow()
    ids = sorted({int(i) for i in contact_ids})
    result = Issued()
    if not ids:
        return result
    known: set[int] = set()
    for batch in chunked(ids, 5000):
        known.update(session.scalars(select(Contact.id).where(Contact.id.in_(batch))))
    missing = [i for i in ids if i not in known]
    if missing:
        shown = ", ".join(str(i) for i in missing[:5])
        raise NotFound(f"there is no contact {shown}" + (" …" if len(missing) > 5 else ""))
    if source_ref is not None:
        for batch in chunked(ids, 5000):
            result.already.update(
                session.execute(
                    select(COUPON.c.contact_id, COUPON.c.code).where(
                        COUPON.c.definition_id == coupon.id,
                        COUPON.c.source == source,
                        COUPON.c.source_ref == source_ref,
                        COUPON.c.contact_id.in_(batch),
                    )
                ).all()
            )
        ids = [i for i in ids if i not in result.already]
        if not ids:
            return result
    _check_issuable(coupon, now)
    issued_count, stock = _lock(session, coupon, now)
    held: dict[int, int] = {}
    for batch in chunked(ids, 5000):
        held.update(
            session.execute(
                select(COUPON.c.contact_id, func.count())
                .where(COUPON.c.definition_id == coupon.id, COUPON.c.contact_id.in_(batch))
                .group_by(COUPON.c.contact_id)
            ).all()
        )
    result.at_limit = [i for i in ids if held.get(i, 0) >= coupon.limit_per_contact]
    wanted = [i for i in ids if held.get(i, 0) < coupon.limit_per_contact]
    room = len(wanted) if stock is None else max(stock - issued_count, 0)
    chosen, result.out_of_stock = wanted[:room], wanted[room:]
    result.codes = _insert(session, coupon, chosen, source, source_ref, actor, now)
    _count(session, coupon, len(result.codes))
    if result.codes:
        pending.mark(session, list(result.codes))
        audit.record(
            session,
            actor=actor.label,
            action="coupon.issue",
            subject_type="coupon",
            subject_id=coupon.id,
            source=source,
            source_ref=source_ref,
            issued=len(result.codes),
            at_limit=len(result.at_limit),
            out_of_stock=len(result.out_of_stock),
            contact_id=chosen[0] if len(chosen) == 1 else None,
        )
    return result


def issue_one(
    session: Session,
    *,
    actor: Actor,
    coupon: GrowthCouponDefinition,
    contact_id: int,
    source: str = "manual",
    source_ref: str | None = None,
    now: datetime | None = None,
) -> str:
    """The contact's new code (or the one this source reference gave before); a clear error
    when the contact holds its limit or the stock is gone."""
    result = issue(
        session,
        actor=actor,
        coupon=coupon,
        contact_ids=[contact_id],
        source=source,
        source_ref=source_ref,
        now=now,
    )
    if contact_id in result.codes:
        return result.codes[contact_id]
    if contact_id in result.already:
        return result.already[contact_id]
    if result.at_limit:
        raise Conflict(
            f"contact {contact_id} already holds {coupon.limit_per_contact} "
            f"{coupon.name} coupon(s), the limit per contact"
        )
    raise Conflict(f"coupon {coupon.name} is out of stock ({coupon.stock} issued)")


def issue_to_segment(
    session: Session,
    *,
    actor: Actor,
    coupon: GrowthCouponDefinition,
    segment: Segment,
    now: datetime | None = None,
) -> Issued:
    """A code to every member of the segment that may have one more, lowest ids first while
    the stock lasts. The members are chosen in SQL; the codes need Python's `secrets`."""
    allow(actor, "reach")
    holding = (
        select(COUPON.c.contact_id)
        .where(COUPON.c.definition_id == coupon.id)
        .group_by(COUPON.c.contact_id)
        .having(func.count() >= coupon.limit_per_contact)
    )
    members = session.scalars(
        select(SegmentMember.contact_id)
        .where(SegmentMember.segment_id == segment.id, SegmentMember.contact_id.not_in(holding))
        .order_by(SegmentMember.contact_id)
    ).all()
    result = issue(
        session,
        actor=actor,
        coupon=coupon,
        contact_ids=members,
        source="segment",
        now=now,
    )
    return result


def _check_issuable(coupon: GrowthCouponDefinition, now: datetime) -> None:
    if coupon.state != "active":
        raise Conflict(f"coupon {coupon.name} is {coupon.state}; only active coupons are issued")
    if coupon.valid_until is not None and coupon.valid_until <= now:
        raise Conflict(f"coupon {coupon.name} ended at {isoformat(coupon.valid_until)}")


def _lock(
    session: Session, coupon: GrowthCouponDefinition, now: datetime
) -> tuple[int, int | None]:
    """Take the definition's row lock; its issued count and stock as they are now."""
    session.execute(update(DEFINITION).where(DEFINITION.c.id == coupon.id).values(updated_at=now))
    row = session.execute(
        select(DEFINITION.c.issued_count, DEFINITION.c.stock, DEFINITION.c.state).where(
            DEFINITION.c.id == coupon.id
        )
    ).one()
    if row.state != "active":
        raise Conflict(f"coupon {coupon.name} is {row.state}; only active coupons are issued")
    return int(row.issued_count), row.stock


def _count(session: Session, coupon: GrowthCouponDefinition, count: int) -> None:
    if count:
        session.execute(
            update(DEFINITION)
            .where(DEFINITION.c.id == coupon.id)
            .values(issued_count=DEFINITION.c.issued_count + count)
        )
    session.refresh(coupon)


def expiry_of(coupon: GrowthCouponDefinition, issued_at: datetime) -> datetime | None:
    if coupon.valid_days is None:
        return coupon.valid_until
    ends = issued_at + timedelta(days=coupon.valid_days)
    return min(ends, coupon.valid_until) if coupon.valid_until else ends


def _insert(
    session: Session,
    coupon: GrowthCouponDefinition,
    contact_ids: list[int],
    source: str,
    source_ref: str | None,
    actor: Actor,
    now: datetime,
) -> dict[int, str]:
    expires_at = expiry_of(coupon, now)
    codes: dict[int, str] = {}
    for batch in chunked(contact_ids, 5000):
        for attempt in range(CODE_ATTEMPTS):
            made = {contact_id: new_code(coupon.code_prefix) for contact_id in batch}
            rows = [
                {
                    "definition_id": coupon.id,
                    "contact_id": contact_id,
                    "code": code,
                    "source": source,
                    "source_ref": source_ref,
                    "issued_by": actor.label[:64],
                    "issued_at": now,
                    "expires_at": expires_at,
                }
                for contact_id, code in made.items()
            ]
            try:
                # A savepoint: a clash of random codes (about 2^-59 a pair) is tried again.
                with session.begin_nested():
                    insert_rows(session, COUPON, rows)
            except IntegrityError:
                if attempt == CODE_ATTEMPTS - 1:
                    raise
                continue
            codes.update(made)
            break
    return codes
