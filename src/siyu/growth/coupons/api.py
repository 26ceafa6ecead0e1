"""REST routes for coupons; thin: parse, call the service, shape the answer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from siyu.api.deps import DbSession, Reader, Writer
from siyu.contacts import service as contacts
from siyu.errors import Invalid
from siyu.growth.coupons import issuing, redeeming, service
from siyu.growth.coupons.schemas import CouponCreate, CouponIssue, CouponRedeem, CouponState
from siyu.segments import service as segments
from siyu.staff.permissions import allow

router = APIRouter(tags=["coupons"])


def _with_stats(session: DbSession, definition: Any) -> dict[str, Any]:
    figures = service.stats(session, definition_ids=[definition.id])[definition.id]
    return {**service.describe(definition), "stats": figures}


@router.get("/coupons", summary="Every coupon with its figures")
def list_coupons(session: DbSession, actor: Reader) -> list[dict[str, Any]]:
    definitions = service.list_definitions(session, actor=actor)
    figures = service.stats(session, definition_ids=[d.id for d in definitions])
    return [{**service.describe(d), "stats": figures[d.id]} for d in definitions]


@router.post("/coupons", status_code=201, summary="Define a coupon")
def create_coupon(body: CouponCreate, session: DbSession, actor: Writer) -> dict[str, Any]:
    definition = service.create_definition(session, actor=actor, **body.model_dump())
    return _with_stats(session, definition)


@router.post("/coupons/redeem", summary="Redeem a code for an order or an amount")
def redeem(body: CouponRedeem, session: DbSession, actor: Writer) -> dict[str, Any]:
    coupon = redeeming.redeem(
        session, actor=actor, code=body.code, order_ref=body.order_ref, amount=body.amount
    )
    return service.describe_coupon(coupon)


@router.get("/coupons/codes/{code}", summary="One issued code and its state")
def get_code(code: str, session: DbSession, actor: Reader) -> dict[str, Any]:
    allow(actor, "read")
    coupon, definition = redeeming.find(session, code)
    return {**service.describe_coupon(coupon), "coupon": definition.name}


@router.get("/coupons/{ref}", summary="A coupon with its figures")
def get_coupon(ref: str, session: DbSession, actor: Reader) -> dict[str, Any]:
    allow(actor, "read")
    return _with_stats(session, service.get_definition(session, ref))


@router.post("/coupons/{ref}/state", summary="Pause, archive or switch a coupon on again")
def set_state(ref: str, body: CouponState, session: DbSession, actor: Writer) -> dict[str, Any]:
    definition = service.get_definition(session, ref)
    service.set_state(session, actor=actor, definition=definition, state=body.state)
    return _with_stats(session, definition)


@router.get("/coupons/{ref}/codes", summary="Codes issued, newest first")
def list_codes(
    ref: str, session: DbSession, actor: Reader, limit: int = Query(50, ge=1, le=500)
) -> list[dict[str, Any]]:
    allow(actor, "read")
    definition = service.get_definition(session, ref)
    return [
        service.describe_coupon(c)
        for c in service.coupons_of(session, definition=definition, limit=limit)
    ]


@router.post("/coupons/{ref}/issue", summary="Issue codes to contacts or a segment's members")
def issue(ref: str, body: CouponIssue, session: DbSession, actor: Writer) -> dict[str, Any]:
    definition = service.get_definition(session, ref)
    if bool(body.contacts) == (body.segment is not None):
        raise Invalid("give contacts or a segment, one of the two")
    if body.segment is not None:
        segment = segments.get_segment(session, body.segment)
        result = issuing.issue_to_segment(session, actor=actor, coupon=definition, segment=segment)
    else:
        ids = [contacts.get_by_ref(session, ref, actor).id for ref in body.contacts]
        result = issuing.issue(
            session,
            actor=actor,
            coupon=definition,
            contact_ids=ids,
            source=body.source,
            source_ref=body.source_ref,
        )
    return result.as_dict()
