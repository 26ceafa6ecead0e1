"""Customers: search, filter, sort and page through the pool; tag or assign a selection.

The results table is a partial: HTMX swaps it as the user types (the URL follows, so a search
can be bookmarked), and without JavaScript the same form is a plain GET.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, Form, Request, Response

from siyu.console.labels import N_, PLATFORMS
from siyu.console.page import Page, SignedIn, toast
from siyu.contacts import handover
from siyu.contacts import search as contacts_search
from siyu.contacts import service as contacts_service
from siyu.contacts.models import CONSENT_CHANNELS, IDENTITY_KINDS
from siyu.contacts.tags import find_tag, list_tags
from siyu.errors import Forbidden, Invalid, SiyuError
from siyu.kit.actor import Actor
from siyu.staff.permissions import allow
from siyu.staff.service import list_staff

router = APIRouter()

PAGE_SIZE = 50
RESULTS_ID = "customer-results"
# The shops a customer can have bought in (codes of the importers), for the platform filter.
SHOP_PLATFORMS = (
    "taobao",
    "jd",
    "douyin",
    "pdd",
    "youzan",
    "kuaishou",
    "wechat_shop",
    "offline",
)
SORTS = {
    "newest": N_("Newest first"),
    "last_order": N_("Latest order"),
    "total_spent": N_("Total spent"),
    "order_count": N_("Most orders"),
}
MIN_ORDERS = {1: N_("Has ordered"), 2: N_("Ordered twice or more"), 5: N_("5 orders or more")}
CHANNELS = {
    "email": N_("E-mail"),
    "sms": N_("SMS"),
    "wecom": N_("WeCom"),
    "wechat_oa": N_("WeChat Official Account"),
}


FORBIDDEN = N_(
    "This customer belongs to another staff member. Ask an operator or an administrator "
    "if you need to see them."
)
# Service messages that name an id cannot be looked up in a catalogue by their exact text.
OTHERS_CUSTOMER = "is another staff member's customer"
BAD_CURSOR = N_("This page link has expired. Start again from the first page.")
BAD_IDENTITY = N_(
    "“%(q)s” is not a usable identity. Write it as kind:value, e.g. phone:13800138000."
)


def error_text(page: Page, error: SiyuError) -> str:
    """A service's message in the page's language."""
    if isinstance(error, Forbidden) and OTHERS_CUSTOMER in error.message:
        return page.gettext(FORBIDDEN)
    if error.message.startswith("cursor "):
        return page.gettext(BAD_CURSOR)
    return page.gettext(error.message)


@dataclass
class Filters:
    """What the list shows; also the query string of its URL."""

    q: str = ""
    tag: str = ""
    platform: str = ""
    owner: str = ""
    min_orders: str = ""
    consent: str = ""
    sort: str = "newest"
    cursor: str = ""
    # Cursors of the pages before this one, comma-separated, so "Previous" can go back.
    back: str = ""

    @classmethod
    def of(cls, values: Mapping[str, str]) -> Filters:
        fields = cls.__dataclass_fields__
        return cls(**{k: str(v).strip() for k, v in values.items() if k in fields and v})

    def url(self, **changes: str) -> str:
        values = {k: v for k, v in {**asdict(self), **changes}.items() if v and v != "newest"}
        return "/customers" + (f"?{urlencode(values)}" if values else "")

    @property
    def filtering(self) -> bool:
        return any((self.q, self.tag, self.platform, self.owner, self.min_orders, self.consent))


def may(actor: Actor, action: str) -> bool:
    try:
        allow(actor, action)
    except Forbidden:
        return False
    return True


def _search_terms(page: Page, q: str) -> dict[str, str | None]:
    """The search box: `kind:value` is an identity, `#name`, `tag:…` or an existing
    `group:name` a tag, anything else a name, phone or identity value."""
    q = q.strip()
    if q.startswith("#") or q.lower().startswith("tag:"):
        return {"tag": q[1:] if q.startswith("#") else q[4:]}
    kind, sep, _ = q.replace("：", ":").partition(":")
    if sep and kind.strip() in IDENTITY_KINDS:
        return {"identity": q}
    if sep and _tag_exists(page, q):
        return {"tag": q}
    return {"text": q or None}


def _tag_exists(page: Page, label: str) -> bool:
    return find_tag(page.session, label) is not None


def results(page: Page, filters: Filters) -> dict[str, Any]:
    """The context of the results partial: one page of customers and the links around it."""
    error = None
    terms = _search_terms(page, filters.q)
    items: list[dict[str, Any]] = []
    next_cursor = None
    try:
        min_orders = int(filters.min_orders) if filters.min_orders else None
        found = contacts_search.list_contacts(
            page.session,
            text=terms.get("text"),
            identity=terms.get("identity"),
            tag=terms.get("tag") or filters.tag or None,
            owner=filters.owner or None,
            platform=filters.platform or None,
            min_orders=min_orders,
            consent=filters.consent or None,
            sort=filters.sort,
            cursor=filters.cursor or None,
            limit=PAGE_SIZE,
            actor=page.actor,
        )
        items, next_cursor = [_dated(item) for item in found.items], found.next_cursor
    except ValueError:
        error = page.gettext("The number of orders must be a whole number.")
    except SiyuError as failure:
        if isinstance(failure, Forbidden) and OTHERS_CUSTOMER not in failure.message:
            raise
        if "identity" in terms and not failure.message.startswith("cursor "):
            error = page.gettext(BAD_IDENTITY, q=filters.q)
        else:
            error = error_text(page, failure)
    trail = [c for c in filters.back.split(",") if c]
    next_url = (
        filters.url(cursor=next_cursor, back=",".join([*trail, filters.cursor or "~"]))
        if next_cursor
        else None
    )
    previous_url = None
    if filters.cursor:
        before = trail[-1] if trail else "~"  # "~" stands for the first page
        previous_url = filters.url(
            cursor="" if before == "~" else before, back=",".join(trail[:-1])
        )
    tag_hint = None
    plain = filters.q and not filters.q.startswith("#") and ":" not in filters.q
    if plain and _tag_exists(page, filters.q):
        tag_hint = Filters(tag=filters.q).url()
    return {
        "filters": filters,
        "items": items,
        "error": error,
        "next_url": next_url,
        "previous_url": previous_url,
        "tag_hint": tag_hint,
        "here": filters.url(),
        "results_id": RESULTS_ID,
        "can_tag": may(page.actor, "tag"),
        "can_assign": may(page.actor, "edit"),
        "assignable": [s for s in list_staff(page.session) if s.disabled_at is None],
    }


def _dated(item: dict[str, Any]) -> dict[str, Any]:
    """The services give ISO times; the templates' date filters take datetimes."""
    for key in ("first_order_at", "last_order_at", "created_at", "updated_at"):
        if item.get(key):
            item[key] = datetime.fromisoformat(item[key])
    return item


def _options(page: Page) -> dict[str, Any]:
    def translated(table: Mapping[Any, str]) -> dict[str, str]:
        return {str(k): page.gettext(v) for k, v in table.items()}

    return {
        "sorts": translated(SORTS),
        "min_orders": translated(MIN_ORDERS),
        "channels": translated({c: CHANNELS.get(c, c) for c in CONSENT_CHANNELS}),
        "platforms": {p: page.gettext(PLATFORMS[p]) for p in SHOP_PLATFORMS},
        "tags": list_tags(page.session),
        "staff_members": list_staff(page.session),
        "owns_only": page.actor.role == "staff",
    }


@router.get("/customers")
def customers(page: SignedIn, request: Request) -> Response:
    filters = Filters.of(request.query_params)
    context = results(page, filters)
    partial = (
        page.is_htmx
        and request.headers.get("hx-target") == RESULTS_ID
        and request.headers.get("hx-history-restore-request") != "true"
    )
    if partial:
        response = page.render("customers/_results.html", **context)
        # The address bar gets the tidy URL (no empty fields), the one the links use too.
        response.headers["HX-Push-Url"] = filters.url()
        return response
    return page.render("customers/list.html", **context, **_options(page))


@router.post("/customers/bulk")
def bulk(
    page: SignedIn,
    action: Annotated[str, Form()],
    ids: Annotated[list[int], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    tags: Annotated[str, Form()] = "",
    owner: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "/customers",
) -> Response:
    """Tag or assign the selected customers; the services refuse what the role may not do."""
    back = back if back.startswith("/customers") and not back.startswith("//") else "/customers"
    try:
        if action == "tag":
            labels = [t for t in tags.replace("，", ",").split(",") if t.strip()]
            added = contacts_service.bulk_add_tags(
                page.session, contact_ids=ids, tags=labels, actor=page.actor
            )
            message = page.gettext(
                "Tagged %(count)s customers (%(added)s new tags).",
                count=str(len(set(ids))),
                added=str(added),
            )
        elif action == "assign":
            if not owner:
                raise Invalid("choose the staff member who takes the customers over")
            moved = handover.assign(page.session, contact_ids=ids, to_login=owner, actor=page.actor)
            message = page.gettext(
                "%(count)s customers now belong to %(owner)s.", count=str(moved), owner=owner
            )
        else:
            raise Invalid(f"unknown action {action!r}")
    except SiyuError as failure:
        text = error_text(page, failure)
        if page.is_htmx:
            return toast(Response(status_code=204), text, "error")
        return page.redirect(back, flash=text, level="error")
    if page.is_htmx:
        query = {k: v[-1] for k, v in parse_qs(urlsplit(back).query).items()}
        response = page.render("customers/_results.html", **results(page, Filters.of(query)))
        return toast(response, message)
    return page.redirect(back, flash=message)
