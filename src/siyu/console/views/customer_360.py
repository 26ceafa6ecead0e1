"""The customer 360: who the customer is, every order from every shop, tags, notes, owner,
consent and merge history, with the edits each role may make.

The profile is a partial (`customers/_profile.html`): `?sidebar=1` renders it without the
navigation, compact enough for a chat sidebar. All writes go through the contact services,
which enforce the roles; a view only hides what the role may not do.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Response
from fastapi.responses import RedirectResponse

from siyu.analytics import next_steps
from siyu.analytics.clv import service as clv_service
from siyu.console.labels import LIFECYCLE_STAGES, N_, PLATFORMS, RFM_SEGMENTS
from siyu.console.page import Page, SignedIn, toast
from siyu.console.views.customers import CHANNELS, FORBIDDEN, error_text
from siyu.contacts import consent as consent_service
from siyu.contacts import service as contacts_service
from siyu.contacts.models import CONSENT_CHANNELS, IDENTITY_KINDS, Contact
from siyu.contacts.orders import list_orders
from siyu.errors import Forbidden, Invalid, SiyuError
from siyu.events.activity import activity
from siyu.staff.permissions import check_contact
from siyu.staff.service import list_staff

router = APIRouter()

ORDERS_PAGE = 20
ACTIVITY_PAGE = 20
STAGES = LIFECYCLE_STAGES
EVENT_TYPES = {
    "page": N_("Page view"),
    "screen": N_("Screen view"),
    "track": N_("Event"),
    "identify": N_("Identified"),
    "group": N_("Joined a group"),
    "alias": N_("Linked ids"),
}
KINDS = {
    "phone": N_("Phone"),
    "email": N_("E-mail"),
    "wechat_unionid": N_("WeChat UnionID"),
    "wechat_openid": N_("WeChat OpenID"),
    "wecom_external_userid": N_("WeCom contact"),
    "taobao_nick": N_("Taobao nickname"),
    "jd_pin": N_("JD account"),
    "douyin_buyer_id": N_("Douyin buyer"),
    "pdd_buyer_id": N_("Pinduoduo buyer"),
    "youzan_buyer_id": N_("Youzan buyer"),
    "kuaishou_buyer_id": N_("Kuaishou buyer"),
    "external_id": N_("External id"),
    "anonymous_id": N_("Anonymous visitor"),
    "receiver": N_("Receiver on one platform"),
}
# How a consent statement came in: the ledger's sources, and what a backfill row means.
CONSENT_SOURCES = {
    "console": N_("Console"),
    "form": N_("Sign-up form"),
    "import": N_("Import"),
    "api": N_("API"),
    "cli": N_("Command line"),
    "unsubscribe": N_("Unsubscribe link"),
    "sms_reply": N_("SMS reply"),
    "backfill": N_("On record before the history began"),
    "manual": N_("Entered by staff"),
}
CONSENT_HISTORY = 50
STATUSES = {
    "pending": N_("Awaiting payment"),
    "paid": N_("Paid"),
    "shipped": N_("Shipped"),
    "completed": N_("Completed"),
    "cancelled": N_("Cancelled"),
    "refunded": N_("Refunded"),
}


def _url(contact_id: int, sidebar: bool, anchor: str = "") -> str:
    return f"/customers/{contact_id}" + ("?sidebar=1" if sidebar else "") + anchor


def _contact(page: Page, ref: str) -> Contact:
    """The contact a URL names, if the signed-in staff member may see it."""
    contact = contacts_service.get_by_ref(page.session, ref)
    check_contact(page.actor, contact, "read")
    return contact


def _forbidden(page: Page) -> Response:
    title, message = page.gettext("Not allowed"), page.gettext(FORBIDDEN)
    if page.is_htmx:
        return toast(Response(status_code=403), message, "error")
    return page.render("error.html", status=403, code=403, title=title, message=message)


def _may(page: Page, contact: Contact, action: str) -> bool:
    try:
        check_contact(page.actor, contact, action)
    except Forbidden:
        return False
    return True


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _translated(page: Page, table: dict[str, str]) -> dict[str, str]:
    return {code: page.gettext(text) for code, text in table.items()}


def _orders(page: Page, contact_id: int, cursor: str | None) -> dict[str, Any]:
    found = list_orders(page.session, contact_id=contact_id, limit=ORDERS_PAGE, cursor=cursor)
    for order in found.items:
        for key in ("placed_at", "paid_at", "completed_at"):
            order[key] = _time(order[key])
    return {"orders": found.items, "orders_next": found.next_cursor}


def _summary(values: dict[str, Any], limit: int = 3) -> str:
    """A few properties or traits on one line; the full ones stay in the API and the CLI."""
    shown = [f"{key}: {value}" for key, value in values.items() if value not in (None, "", {}, [])]
    text = ", ".join(shown[:limit]) + (" …" if len(shown) > limit else "")
    return text if len(text) <= 160 else text[:159] + "…"


def _activity(page: Page, contact_id: int, cursor: str | None) -> dict[str, Any]:
    found = activity(page.session, contact_id=contact_id, limit=ACTIVITY_PAGE, cursor=cursor)
    for item in found.items:
        if item["kind"] == "event":
            values = dict(item["properties"])
            if item["type"] in ("page", "screen"):
                item["where"] = values.pop("path", None) or item["page"].get("path") or ""
                item["title"] = item["name"] or values.pop("title", None) or ""
                values = {}
            item["summary"] = _summary(values)
    return {
        "activity": found.items,
        "activity_next": found.next_cursor,
        "event_types": _translated(page, EVENT_TYPES),
    }


def _clv(page: Page, contact_id: int) -> dict[str, Any] | None:
    found = clv_service.prediction_of(page.session, contact_id)
    return {**found, "fitted_at": _time(found["fitted_at"])} if found else None


def _profile_context(page: Page, contact: Contact, sidebar: bool) -> dict[str, Any]:
    data = contacts_service.profile(page.session, contact, recent_orders=0)
    for key in ("first_order_at", "last_order_at", "created_at", "updated_at"):
        data[key] = _time(data[key])
    for item in (*data["notes"], *data["merges"]):
        for key in ("created_at", "merged_at"):
            if key in item:
                item[key] = _time(item[key])
    consents = {
        c["channel"]: {**c, "recorded_at": _time(c["recorded_at"])} for c in data["consents"]
    }
    consent_history = [
        {**item, "recorded_at": _time(item["recorded_at"])}
        for item in consent_service.history(page.session, contact.id, limit=CONSENT_HISTORY)
    ]
    groups: dict[str, list[dict[str, str]]] = defaultdict(list)
    for tag in data["tag_details"]:
        groups[tag["group"]].append(tag)
    return {
        "c": data,
        "contact_id": contact.id,
        "owner_login": data["owner"],
        "sidebar": sidebar,
        "self_url": _url(contact.id, sidebar),
        "tag_groups": sorted(groups.items()),
        "consents": consents,
        "consent_history": consent_history,
        "consent_sources": _translated(page, CONSENT_SOURCES),
        "channels": _translated(page, {c: CHANNELS.get(c, c) for c in CONSENT_CHANNELS}),
        "kinds": _translated(page, {k: KINDS.get(k, k) for k in IDENTITY_KINDS}),
        "statuses": _translated(page, STATUSES),
        "platform_names": _translated(page, PLATFORMS),
        "staff_members": [s for s in list_staff(page.session) if s.disabled_at is None],
        "can_tag": _may(page, contact, "tag"),
        "can_note": _may(page, contact, "note"),
        "can_edit": _may(page, contact, "edit"),
        "stage": data["lifecycle_stage"],
        "stage_name": page.gettext(STAGES.get(data["lifecycle_stage"], data["lifecycle_stage"])),
        "stage_names": _translated(page, STAGES),
        "stage_history": [
            {**item, "changed_at": _time(item["changed_at"])} for item in data["lifecycle_history"]
        ],
        "clv": _clv(page, contact.id),
        "next_steps": next_steps.next_steps(page.session, actor=page.actor, contact=contact),
        "can_enrol": _may(page, contact, "reach"),
        "rfm": data["rfm"],
        "rfm_segment_name": page.gettext(RFM_SEGMENTS[data["rfm"]["segment"]])
        if data["rfm"]
        else None,
        **_orders(page, contact.id, None),
        **_activity(page, contact.id, None),
    }


@router.get("/customers/{ref}")
def customer(page: SignedIn, ref: str, sidebar: bool = False) -> Response:
    try:
        contact = _contact(page, ref)
    except Forbidden:
        return _forbidden(page)
    if ref != str(contact.id):  # an absorbed id or an identity: the survivor's own address
        return RedirectResponse(_url(contact.id, sidebar), status_code=303)
    context = _profile_context(page, contact, sidebar)
    return page.render("customers/sidebar.html" if sidebar else "customers/detail.html", **context)


@router.get("/customers/{ref}/orders")
def more_orders(page: SignedIn, ref: str, cursor: str = "") -> Response:
    """The next orders of the timeline: rows to append for HTMX, a page of their own without."""
    try:
        contact = _contact(page, ref)
    except Forbidden:
        return _forbidden(page)
    context = {
        "contact_id": contact.id,
        "c": {"id": contact.id, "name": contact.name},
        "statuses": _translated(page, STATUSES),
        **_orders(page, contact.id, cursor or None),
    }
    if page.is_htmx:
        return page.render("customers/_order_items.html", **context)
    return page.render("customers/orders.html", **context)


@router.get("/customers/{ref}/activity")
def more_activity(page: SignedIn, ref: str, cursor: str = "") -> Response:
    """The next items of the activity feed: rows to append for HTMX, a page without."""
    try:
        contact = _contact(page, ref)
    except Forbidden:
        return _forbidden(page)
    context = {
        "contact_id": contact.id,
        "c": {"id": contact.id, "name": contact.name},
        "statuses": _translated(page, STATUSES),
        **_activity(page, contact.id, cursor or None),
    }
    if page.is_htmx:
        return page.render("customers/_activity_items.html", **context)
    return page.render("customers/activity.html", **context)


def _after_write(
    page: Page, contact: Contact, sidebar: bool, message: str, section: str | None = None
) -> Response:
    """HTMX gets the changed section back with a toast; a plain form post, the page again."""
    if page.is_htmx and section:
        context = _profile_context(page, contact, sidebar)
        return toast(page.render(f"customers/_{section}.html", **context), message)
    anchor = f"#{section}" if section else ""
    return page.redirect(_url(contact.id, sidebar, anchor), flash=message)


def _failed(page: Page, contact_id: int, sidebar: bool, error: SiyuError) -> Response:
    message = error_text(page, error)
    if page.is_htmx:
        return toast(Response(status_code=204), message, "error")
    return page.redirect(_url(contact_id, sidebar), flash=message, level="error")


Sidebar = Annotated[str, Form()]


def _write(
    page: Page,
    ref: str,
    sidebar: str,
    change: Callable[[Contact], object],
    message: str,
    section: str | None = None,
) -> Response:
    """One change to a customer through its service, answered as `_after_write` does; the
    service's refusal as `_failed` does."""
    contact = _contact_or_none(page, ref)
    if contact is None:
        return _forbidden(page)
    try:
        change(contact)
    except SiyuError as error:
        return _failed(page, contact.id, bool(sidebar), error)
    return _after_write(page, contact, bool(sidebar), message, section)


@router.post("/customers/{ref}/tags")
def add_tags(
    page: SignedIn, ref: str, tags: Annotated[str, Form()], sidebar: Sidebar = ""
) -> Response:
    labels = [t for t in tags.replace("，", ",").split(",") if t.strip()]

    def change(contact: Contact) -> None:
        if not labels:
            raise Invalid("give at least one tag")
        contacts_service.add_tags(page.session, contact=contact, tags=labels, actor=page.actor)

    return _write(page, ref, sidebar, change, page.gettext("Tag added."), "tags")


@router.post("/customers/{ref}/tags/remove")
def remove_tag(
    page: SignedIn, ref: str, tag: Annotated[str, Form()], sidebar: Sidebar = ""
) -> Response:
    def change(contact: Contact) -> None:
        contacts_service.remove_tag(page.session, contact=contact, tag=tag, actor=page.actor)

    return _write(page, ref, sidebar, change, page.gettext("Tag removed."), "tags")


@router.post("/customers/{ref}/notes")
def add_note(
    page: SignedIn, ref: str, body: Annotated[str, Form()] = "", sidebar: Sidebar = ""
) -> Response:
    def change(contact: Contact) -> None:
        contacts_service.add_note(page.session, contact=contact, body=body, actor=page.actor)

    return _write(page, ref, sidebar, change, page.gettext("Note added."), "notes")


@router.post("/customers/{ref}/owner")
def change_owner(
    page: SignedIn, ref: str, owner: Annotated[str, Form()] = "", sidebar: Sidebar = ""
) -> Response:
    def change(contact: Contact) -> None:
        contacts_service.update_contact(
            page.session, contact=contact, actor=page.actor, changes={"owner": owner or None}
        )

    return _write(page, ref, sidebar, change, page.gettext("Owner changed."))


@router.post("/customers/{ref}/consent")
def set_consent(
    page: SignedIn,
    ref: str,
    channel: Annotated[str, Form()],
    granted: Annotated[str, Form()],
    purpose: Annotated[str, Form()] = "",
    sidebar: Sidebar = "",
) -> Response:
    contact = _contact_or_none(page, ref)
    if contact is None:
        return _forbidden(page)
    if channel not in CONSENT_CHANNELS:
        # Said here in the page's language; the service's own message is English.
        known = ", ".join(page.gettext(CHANNELS.get(c, c)) for c in CONSENT_CHANNELS)
        unknown = Invalid(
            page.gettext(
                "Unknown channel %(channel)s; known: %(known)s", channel=channel, known=known
            )
        )
        return _failed(page, contact.id, bool(sidebar), unknown)
    try:
        changed = consent_service.change_consent(
            page.session,
            contact=contact,
            channel=channel,
            granted=granted == "1",
            purpose=purpose,
            source="console",
            actor=page.actor,
        )
    except SiyuError as error:
        return _failed(page, contact.id, bool(sidebar), error)
    if not changed:
        message = page.gettext("Nothing changed: this consent was already on record.")
    elif granted == "1":
        message = page.gettext("Consent recorded.")
    else:
        message = page.gettext("Consent withdrawn.")
    return _after_write(page, contact, bool(sidebar), message, "consent")


@router.post("/customers/{ref}/identities")
def add_identity(
    page: SignedIn,
    ref: str,
    kind: Annotated[str, Form()],
    value: Annotated[str, Form()],
    sidebar: Sidebar = "",
) -> Response:
    contact = _contact_or_none(page, ref)
    if contact is None:
        return _forbidden(page)
    before = contact.id
    try:
        survivor = contacts_service.add_identity(
            page.session, contact=contact, ref=f"{kind}:{value}", actor=page.actor
        )
    except SiyuError as error:
        return _failed(page, contact.id, bool(sidebar), error)
    if survivor.id != before or page.session.get(Contact, before) is None:
        message = page.gettext("Another customer had this identity: the two were merged.")
    else:
        message = page.gettext("Identity added.")
    return page.redirect(_url(survivor.id, bool(sidebar), "#identities"), flash=message)


@router.post("/customers/{ref}/identities/remove")
def remove_identity(
    page: SignedIn,
    ref: str,
    identity: Annotated[str, Form()],
    confirmed: Annotated[str, Form()] = "",
    sidebar: Sidebar = "",
) -> Response:
    contact = _contact_or_none(page, ref)
    if contact is None:
        return _forbidden(page)
    if not confirmed:
        return page.confirm(
            page.gettext("Remove the identity %(identity)s from this customer?", identity=identity),
            action=f"/customers/{contact.id}/identities/remove",
            fields={"identity": identity, "sidebar": sidebar},
            cancel=_url(contact.id, bool(sidebar)),
        )
    try:
        contacts_service.remove_identity(
            page.session, contact=contact, ref=identity, actor=page.actor
        )
    except SiyuError as error:
        return _failed(page, contact.id, bool(sidebar), error)
    return page.redirect(
        _url(contact.id, bool(sidebar), "#identities"), flash=page.gettext("Identity removed.")
    )


def _contact_or_none(page: Page, ref: str) -> Contact | None:
    """The contact to change, or None when the signed-in member may not even see it."""
    try:
        return _contact(page, ref)
    except Forbidden:
        return None


@router.post("/customers/{ref}/enrol")
def enrol(
    page: SignedIn,
    ref: str,
    journey_id: Annotated[int, Form()],
    step: Annotated[str, Form()] = "",
    sidebar: Sidebar = "",
) -> Response:
    """A next step's one click: start the chosen journey for this customer."""
    contact = _contact_or_none(page, ref)
    if contact is None:
        return _forbidden(page)
    try:
        journey = next_steps.enrol_now(
            page.session, actor=page.actor, contact=contact, journey_id=journey_id, reason=step
        )
    except SiyuError as error:
        return _failed(page, contact.id, bool(sidebar), error)
    message = page.gettext("Started %(journey)s for this customer.", journey=journey.name)
    if page.is_htmx:
        return toast(Response(status_code=204), message)
    return page.redirect(_url(contact.id, bool(sidebar), "#next-steps"), flash=message)
