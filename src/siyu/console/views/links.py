"""Trackable links: the public redirect /l/{code}, and the console's list, totals and detail.

The redirect is public and fast: one lookup, one insert (two more when a known contact
clicks, for the link_clicked event). Everything else is for signed-in staff; creating links
and personalised links is for those who may create (operators and administrators).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from siyu.console.labels import N_
from siyu.console.page import Anyone, Page, SignedIn
from siyu.errors import Conflict, Forbidden, Invalid, NotFound
from siyu.ingest.inbound import links
from siyu.staff.permissions import allow

router = APIRouter()

# Service messages shown next to the form field they are about (translated by exact text).
FIELD_MESSAGES = {
    "a link needs a name of 1 to 120 characters": "name",
    "a link needs a target URL": "target_url",
    "the target URL must start with http:// or https://": "target_url",
    "the target URL has no host name": "target_url",
    "the target URL is not a valid URL": "target_url",
    "the target URL must not contain spaces or control characters": "target_url",
    "a short code is 1 to 32 letters, digits, - or _": "code",
}
_MESSAGES = (
    N_("a link needs a name of 1 to 120 characters"),
    N_("a link needs a target URL"),
    N_("the target URL must start with http:// or https://"),
    N_("the target URL has no host name"),
    N_("the target URL is not a valid URL"),
    N_("the target URL must not contain spaces or control characters"),
    N_("a short code is 1 to 32 letters, digits, - or _"),
)
IDENTIFIED_BY = {"token": N_("Personalised link"), "cookie": N_("Web tracking")}


# --- the public redirect -----------------------------------------------------------------------


@router.get("/l/{code}")
def follow(page: Anyone, request: Request, code: str, c: str | None = None) -> Response:
    visitor = links.Visitor(
        token=c,
        anonymous_id=request.cookies.get(links.ANONYMOUS_COOKIE),
        user_id=request.cookies.get(links.USER_COOKIE),
        referrer=request.headers.get("referer"),
        user_agent=request.headers.get("user-agent"),
        ip=request.client.host if request.client else None,
    )
    try:
        link, _click = links.record_click(page.session, code=code, visitor=visitor)
    except NotFound:
        return page.render("links/missing.html", status=404)
    # 302, not 301: browsers must come back each time, or repeated clicks would go uncounted.
    response = RedirectResponse(links.redirect_url(link), status_code=302)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


# --- the console -----------------------------------------------------------------------------


def _may_create(page: Page) -> bool:
    try:
        allow(page.actor, "create")
    except Forbidden:
        return False
    return True


def _refused(page: Page) -> Response:
    return page.render(
        "error.html",
        status=403,
        code=403,
        title=page.gettext("Not allowed"),
        message=page.gettext("Only operators and administrators create links."),
    )


def _short_url(request: Request, path: str) -> str:
    return str(request.base_url).rstrip("/") + path


def _list_page(
    page: Page,
    request: Request,
    *,
    status: int = 200,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    rows = links.list_links(page.session, actor=page.actor)
    return page.render(
        "links/list.html",
        status=status,
        rows=rows,
        campaigns=links.campaign_totals(page.session, actor=page.actor),
        base_url=_short_url(request, ""),
        may_create=_may_create(page),
        form=form or {},
        errors=errors or {},
        utm_keys=links.UTM_KEYS,
    )


@router.get("/links")
def link_list(page: SignedIn, request: Request) -> Response:
    return _list_page(page, request)


@router.post("/links")
def link_create(
    page: SignedIn,
    request: Request,
    name: Annotated[str, Form()] = "",
    target_url: Annotated[str, Form()] = "",
    campaign: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    utm_source: Annotated[str, Form()] = "",
    utm_medium: Annotated[str, Form()] = "",
    utm_campaign: Annotated[str, Form()] = "",
    utm_term: Annotated[str, Form()] = "",
    utm_content: Annotated[str, Form()] = "",
) -> Response:
    utm = {
        "utm_source": utm_source,
        "utm_medium": utm_medium,
        "utm_campaign": utm_campaign,
        "utm_term": utm_term,
        "utm_content": utm_content,
    }
    form = {"name": name, "target_url": target_url, "campaign": campaign, "code": code, **utm}
    try:
        link = links.create_link(
            page.session,
            name=name,
            target_url=target_url,
            campaign=campaign,
            code=code,
            utm=utm,
            actor=page.actor,
        )
    except Forbidden:
        return _refused(page)
    except Conflict:
        message = page.gettext("This short code is taken. Choose another or leave it empty.")
        return _list_page(page, request, status=422, form=form, errors={"code": message})
    except Invalid as error:
        field = FIELD_MESSAGES.get(error.message, "form")
        errors = {field: page.gettext(error.message)}
        return _list_page(page, request, status=422, form=form, errors=errors)
    return page.redirect(
        f"/links/{link.id}",
        flash=page.gettext("Link created: %(url)s", url=_short_url(request, f"/l/{link.code}")),
    )


def _detail_page(
    page: Page,
    request: Request,
    link_id: int,
    *,
    status: int = 200,
    personal: dict[str, Any] | None = None,
    contact_ref: str = "",
    error: str | None = None,
) -> Response:
    link = links.get_link(page.session, link_id, actor=page.actor)
    days = links.daily_clicks(page.session, link.id)
    clicks = links.recent_clicks(page.session, link.id)
    summary = links.list_links(page.session, actor=page.actor, campaign=link.campaign)
    counts = next(row for row in summary if row["id"] == link.id)
    chart = {
        "type": "bar",
        "categories": [day[5:] for day, _ in days],
        "series": [{"name": page.gettext("Clicks"), "data": [count for _, count in days]}],
    }
    return page.render(
        "links/detail.html",
        status=status,
        link=link,
        counts=counts,
        days=[(day, count) for day, count in days if count],
        chart=chart,
        clicks=clicks,
        short_url=_short_url(request, f"/l/{link.code}"),
        redirect_url=links.redirect_url(link),
        utm=links.utm_values(link),
        may_create=_may_create(page),
        personal=personal,
        personal_url=_short_url(request, personal["path"]) if personal else None,
        contact_ref=contact_ref,
        error=error,
        identified_by={k: page.gettext(v) for k, v in IDENTIFIED_BY.items()},
    )


@router.get("/links/{link_id}")
def link_detail(page: SignedIn, request: Request, link_id: int) -> Response:
    return _detail_page(page, request, link_id)


@router.post("/links/{link_id}/personal")
def link_personal(
    page: SignedIn, request: Request, link_id: int, contact: Annotated[str, Form()] = ""
) -> Response:
    link = links.get_link(page.session, link_id, actor=page.actor)
    if not contact.strip():
        message = page.gettext("Enter a customer's id, phone number or other identity.")
        return _detail_page(page, request, link_id, status=422, error=message)
    try:
        personal = links.personal_link(
            page.session, link=link, contact_ref=contact.strip(), actor=page.actor
        )
    except Forbidden:
        return _refused(page)
    except (NotFound, Invalid):
        message = page.gettext("No customer matches %(ref)s.", ref=contact.strip())
        return _detail_page(page, request, link_id, status=422, contact_ref=contact, error=message)
    return _detail_page(page, request, link_id, personal=personal, contact_ref=contact)
