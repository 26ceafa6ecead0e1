"""Coupons in the console: the list with figures, defining one, and a coupon's page with its
figures, latest codes and forms to issue codes to a segment or a customer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from siyu.console.labels import N_
from siyu.console.page import Page, SignedIn
from siyu.contacts import service as contacts
from siyu.errors import Conflict, Invalid, NotFound
from siyu.growth.coupons import issuing, service
from siyu.growth.coupons.models import GrowthCouponDefinition
from siyu.kit.normalize import parse_money
from siyu.kit.timeutil import parse_time
from siyu.segments import service as segments
from siyu.staff.permissions import ACTIONS, allow

router = APIRouter()

KINDS = {
    "fixed": N_("Amount off"),
    "percent": N_("Percentage off"),
    "free_shipping": N_("Free shipping"),
}
STATES = {"active": N_("Active"), "paused": N_("Paused"), "archived": N_("Archived")}
STATUSES = {"live": N_("Unused"), "redeemed": N_("Redeemed"), "expired": N_("Expired")}
FORM_FIELDS = (
    "name", "kind", "amount", "percent", "minimum", "prefix", "valid_from", "valid_until",
    "days", "limit", "stock", "description",
)  # fmt: skip


def may_reach(page: Page) -> bool:
    return "reach" in ACTIONS.get(page.actor.role, frozenset())


def terms(page: Page, definition: GrowthCouponDefinition) -> str:
    money = page.formats.money
    if definition.kind == "fixed":
        text = page.gettext("%(amount)s off", amount=money(definition.amount_off))
    elif definition.kind == "percent":
        text = page.gettext("%(percent)s%% off", percent=definition.percent_off)
    else:
        text = page.gettext("Free shipping")
    if definition.minimum_spend:
        minimum = money(definition.minimum_spend)
        text += page.gettext(", on orders of %(minimum)s or more", minimum=minimum)
    return text


@router.get("/coupons")
def list_page(page: SignedIn) -> Response:
    definitions = service.list_definitions(page.session, actor=page.actor)
    figures = service.stats(page.session, definition_ids=[d.id for d in definitions])
    rows = [{"definition": d, "terms": terms(page, d), "stats": figures[d.id]} for d in definitions]
    return page.render("coupons/list.html", rows=rows, states=STATES, may_reach=may_reach(page))


def _new_form(
    page: Page, values: dict[str, str], error: str | None = None, status: int = 200
) -> Response:
    return page.render("coupons/new.html", kinds=KINDS, values=values, error=error, status=status)


@router.get("/coupons/new")
def new_page(page: SignedIn) -> Response:
    allow(page.actor, "reach")
    return _new_form(page, {"kind": "fixed", "limit": "1"})


def _number(text: str, label: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 9:
        raise Invalid(f"{label} must be a whole number")
    return int(text)


def _money(text: str, label: str) -> int:
    try:
        return parse_money(text) or 0
    except ValueError:
        raise Invalid(f"{label} is not an amount in yuan, e.g. 20 or 19.90") from None


def _moment(text: str, label: str) -> Any:
    try:
        return parse_time(text.strip() or None)
    except ValueError:
        raise Invalid(f"{label} is not a date such as 2026-06-30") from None


@router.post("/coupons/new")
async def new_post(page: SignedIn, request: Request) -> Response:
    form = await request.form()
    values = {name: str(form.get(name) or "") for name in FORM_FIELDS}
    try:
        # A savepoint: nothing of a refused coupon is kept.
        with page.session.begin_nested():
            definition = service.create_definition(
                page.session,
                actor=page.actor,
                name=values["name"],
                kind=values["kind"],
                amount_off=_money(values["amount"], "the amount off"),
                percent_off=_number(values["percent"], "the percent off") or 0,
                minimum_spend=_money(values["minimum"], "the minimum spend"),
                code_prefix=values["prefix"],
                valid_from=_moment(values["valid_from"], "valid from"),
                valid_until=_moment(values["valid_until"], "valid until"),
                valid_days=_number(values["days"], "the days each code lasts"),
                limit_per_contact=_number(values["limit"], "the limit per customer") or 1,
                stock=_number(values["stock"], "the stock"),
                description=values["description"],
            )
    except (Invalid, Conflict) as problem:
        return _new_form(page, values, error=page.gettext(problem.message), status=422)
    return page.redirect(
        f"/coupons/{definition.id}",
        flash=page.gettext("Coupon %(name)s created.", name=definition.name),
    )


def _find(page: Page, coupon_id: int) -> GrowthCouponDefinition:
    definition = page.session.get(GrowthCouponDefinition, coupon_id)
    if definition is None:
        raise NotFound(page.gettext("There is no such coupon."))
    return definition


@router.get("/coupons/{coupon_id}")
def show_page(page: SignedIn, coupon_id: int) -> Response:
    allow(page.actor, "read")
    definition = _find(page, coupon_id)
    figures = service.stats(page.session, definition_ids=[definition.id])[definition.id]
    codes = [
        service.describe_coupon(c)
        for c in service.coupons_of(page.session, definition=definition, limit=50)
    ]
    return page.render(
        "coupons/show.html",
        definition=definition,
        terms=terms(page, definition),
        stats=figures,
        codes=codes,
        segments=segments.list_segments(page.session, actor=page.actor),
        states=STATES,
        statuses=STATUSES,
        kinds=KINDS,
        may_reach=may_reach(page),
        segment_example=f'coupon("{definition.name}").redeemed',
        message_example=f'{{{{ coupon("{definition.name}") }}}}',
    )


@router.post("/coupons/{coupon_id}/issue")
async def issue_post(page: SignedIn, request: Request, coupon_id: int) -> Response:
    definition = _find(page, coupon_id)
    form = await request.form()
    segment_ref = str(form.get("segment") or "").strip()
    customer = str(form.get("customer") or "").strip()
    here = f"/coupons/{definition.id}"
    try:
        with page.session.begin_nested():
            if segment_ref:
                segment = segments.get_segment(page.session, segment_ref)
                result = issuing.issue_to_segment(
                    page.session, actor=page.actor, coupon=definition, segment=segment
                )
            elif customer:
                contact = contacts.get_by_ref(page.session, customer, page.actor)
                result = issuing.issue(
                    page.session, actor=page.actor, coupon=definition, contact_ids=[contact.id]
                )
            else:
                raise Invalid(page.gettext("Choose a segment or give a customer."))
    except (Invalid, Conflict, NotFound) as problem:
        return page.redirect(here, flash=page.gettext(problem.message), level="error")
    message = page.gettext(
        "%(issued)s codes issued; %(limit)s customers hold their limit; %(stock)s left "
        "without one as the stock ran out.",
        issued=page.formats.number(len(result.codes)),
        limit=page.formats.number(len(result.at_limit)),
        stock=page.formats.number(len(result.out_of_stock)),
    )
    return page.redirect(here, flash=message)


@router.post("/coupons/{coupon_id}/state")
async def state_post(page: SignedIn, request: Request, coupon_id: int) -> Response:
    definition = _find(page, coupon_id)
    state = str((await request.form()).get("state") or "")
    service.set_state(page.session, actor=page.actor, definition=definition, state=state)
    return page.redirect(
        f"/coupons/{definition.id}",
        flash=page.gettext("Coupon %(name)s is now %(state)s.", name=definition.name,
                           state=page.gettext(STATES[state])),
    )  # fmt: skip
