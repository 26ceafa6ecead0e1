"""The audit log: who changed what, filterable by person, object, action and date, newest first.

The query and the permission check live in siyu.audit.service, shared with GET /api/v1/audit
and `siyu audit list`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Response

from siyu.audit import service as audit_service
from siyu.audit.models import AuditEvent
from siyu.console.labels import N_, ROLES
from siyu.console.page import Page, SignedIn
from siyu.errors import Forbidden
from siyu.kit.timeutil import local_zone
from siyu.staff import service as staff_service
from siyu.staff.permissions import allow

router = APIRouter()
PAGE_SIZE = 50
# A list in an event's detail (e.g. the ids a handover moved) shows this many values.
LIST_SHOWN = 10

ACTIONS = {
    "contact.create": N_("Customer created"),
    "contact.update": N_("Customer changed"),
    "contact.identity_add": N_("Identity added"),
    "contact.identity_remove": N_("Identity removed"),
    "contact.merge": N_("Customers merged"),
    "contact.tag_add": N_("Tags added"),
    "contact.tag_remove": N_("Tag removed"),
    "contact.note_add": N_("Note added"),
    "contact.consent": N_("Consent changed"),
    "contact.handover": N_("Customers handed over"),
    "import.file": N_("File imported"),
    "staff.create": N_("Staff account created"),
    "staff.role": N_("Role changed"),
    "staff.disable": N_("Staff account disabled"),
    "staff.enable": N_("Staff account enabled"),
    "staff.password_set": N_("Password reset by an administrator"),
    "staff.password_change": N_("Password changed"),
    "staff.locked": N_("Sign-in locked after failures"),
    "apikey.create": N_("API key created"),
    "apikey.revoke": N_("API key revoked"),
    "coupon.create": N_("Coupon created"),
    "coupon.state": N_("Coupon state changed"),
    "coupon.issue": N_("Coupon codes issued"),
    "coupon.redeem": N_("Coupon code redeemed"),
}
# Whole areas, offered in the filter as "contact.*" and so on.
AREAS = {
    "contact.*": N_("All customer changes"),
    "staff.*": N_("All staff account changes"),
    "apikey.*": N_("All API key changes"),
    "coupon.*": N_("All coupon changes"),
}
SUBJECTS = {
    "contact": N_("Customer"),
    "staff": N_("Staff member"),
    "api_key": N_("API key"),
    "ingest_batch": N_("Import"),
    "coupon": N_("Coupon"),
}
DETAIL_KEYS = {
    "login": N_("Login"),
    "role": N_("Role"),
    "before": N_("Before"),
    "after": N_("After"),
    "changes": N_("Changes"),
    "name": N_("Name"),
    "scopes": N_("Scopes"),
    "identities": N_("Identities"),
    "identity": N_("Identity"),
    "tags": N_("Tags"),
    "tag": N_("Tag"),
    "note_id": N_("Note"),
    "channel": N_("Channel"),
    "granted": N_("Granted"),
    "purpose": N_("Purpose"),
    "from": N_("Handed over by"),
    "to": N_("Taken over by"),
    "count": N_("Count"),
    "contact_ids": N_("Customers"),
    "absorbed_id": N_("Merged customer"),
    "file": N_("File"),
    "format": N_("Format"),
    "failures": N_("Failed sign-ins"),
    "rows_rejected": N_("Rows rejected"),
}


@router.get("/audit")
def audit_log(
    page: SignedIn,
    actor: str = "",
    action: str = "",
    subject_type: str = "",
    subject_id: str = "",
    since: str = "",
    until: str = "",
    cursor: str = "",
) -> Response:
    filters = {
        "actor": actor.strip(),
        "action": action.strip(),
        "subject_type": subject_type.strip(),
        "subject_id": subject_id.strip(),
        "since": since.strip(),
        "until": until.strip(),
    }
    errors: dict[str, str] = {}
    start = _day(page, filters["since"], "since", errors)
    end = _day(page, filters["until"], "until", errors)
    if filters["subject_id"] and not filters["subject_type"]:
        errors["subject_id"] = page.gettext("Choose the type of object too.")
    if start and end and end < start:
        errors["until"] = page.gettext("The end date is before the start date.")
    result = audit_service.EventPage()
    try:
        if errors:
            allow(page.actor, "audit")  # a refused role learns nothing from the form either
        else:
            result = audit_service.list_events(
                page.session,
                viewer=page.actor,
                actor=filters["actor"] or None,
                action=filters["action"] or None,
                subject_type=filters["subject_type"] or None,
                subject_id=filters["subject_id"] or None,
                since=_start_of(start),
                until=_start_of(end + timedelta(days=1)) if end else None,
                cursor=cursor or None,
                limit=PAGE_SIZE,
            )
    except Forbidden:
        return page.render(
            "error.html",
            status=403,
            code=403,
            title=page.gettext("Not allowed"),
            message=page.gettext(
                "Only administrators can read the audit log. Ask one if you need to know "
                "who changed something."
            ),
        )
    staff = staff_service.list_staff(page.session)
    people = _people(page, staff)
    active = {key: value for key, value in filters.items() if value}
    return page.render(
        "audit/list.html",
        events=[_row(page, event, people) for event in result.events],
        filters=filters,
        filtered=bool(active),
        errors=errors,
        people_options=_with_current(
            [(f"staff:{m.login}", f"{m.name or m.login} ({m.login})") for m in staff]
            + [("cli", people["cli"]), ("system", people["system"])],
            filters["actor"],
            _actor_name(page, filters["actor"], people),
        ),
        actions=_with_current(_labelled(page, ACTIONS), filters["action"]),
        areas=_labelled(page, AREAS),
        subjects=_with_current(_labelled(page, SUBJECTS), filters["subject_type"]),
        next_url=_url(active, cursor=result.next_cursor) if result.next_cursor else None,
        first_url=_url(active) if cursor else None,
    )


def _labelled(page: Page, table: dict[str, str]) -> list[tuple[str, str]]:
    return [(code, page.gettext(label)) for code, label in table.items()]


def _with_current(
    options: list[tuple[str, str]], current: str, label: str | None = None
) -> list[tuple[str, str]]:
    """The options of a filter, plus the current value when a link asked for another one."""
    if current and current not in {value for value, _ in options} and not current.endswith(".*"):
        return [*options, (current, label or current)]
    return options


def _day(page: Page, text: str, name: str, errors: dict[str, str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = page.gettext("Enter a date like 2024-03-01.")
        return None


def _start_of(day: date | None) -> datetime | None:
    """Midnight of a day in SIYU_TIMEZONE: the days people pick are the merchant's days."""
    return datetime.combine(day, time(), tzinfo=local_zone()) if day else None


def _url(filters: dict[str, str], **extra: str | None) -> str:
    query = {**filters, **{k: v for k, v in extra.items() if v}}
    return "/audit" + (f"?{urlencode(query)}" if query else "")


def _people(page: Page, staff: list[Any]) -> dict[str, str]:
    """Display names of actor labels: staff by login (and by id, as some callers write it)."""
    people = {"cli": page.gettext("Command line"), "system": page.gettext("System")}
    for member in staff:
        name = member.name or member.login
        people[f"staff:{member.login}"] = name
        people.setdefault(f"staff:{member.id}", name)
    return people


def _actor_name(page: Page, actor: str, people: dict[str, str]) -> str:
    if actor in people:
        return people[actor]
    kind, _, ident = actor.partition(":")
    if kind == "apikey" and ident:
        return page.gettext("API key %(id)s", id=ident)
    return actor


def _subject_url(event: AuditEvent) -> str | None:
    if not event.subject_id:
        return None
    if event.subject_type == "contact":
        return f"/customers/{event.subject_id}"
    if event.subject_type == "staff" and event.subject_id.isdigit():
        return f"/settings/staff/{event.subject_id}"
    if event.subject_type == "api_key":
        return "/settings/api-keys"
    if event.subject_type == "ingest_batch":
        return "/imports"
    if event.subject_type == "coupon" and event.subject_id.isdigit():
        return f"/coupons/{event.subject_id}"
    return None


def _row(page: Page, event: AuditEvent, people: dict[str, str]) -> dict[str, Any]:
    action = ACTIONS.get(event.action)
    subject = SUBJECTS.get(event.subject_type)
    return {
        "event": event,
        "actor_name": _actor_name(page, event.actor, people),
        "actor_url": _url({"actor": event.actor}),
        "action_label": page.gettext(action) if action else event.action,
        "action_url": _url({"action": event.action}),
        "subject_label": page.gettext(subject) if subject else event.subject_type,
        "subject_url": _subject_url(event),
        "subject_filter_url": _url(
            {"subject_type": event.subject_type, "subject_id": event.subject_id or ""}
        ),
        "detail": detail_items(page, event.detail or {}, action=event.action),
    }


def detail_items(page: Page, detail: dict[str, Any], *, action: str = "") -> list[tuple[str, str]]:
    """An event's JSON detail as (label, text) pairs for a compact key/value list."""
    roles = {"role"} | ({"before", "after"} if action == "staff.role" else set())
    items = []
    for key, value in detail.items():
        label = DETAIL_KEYS.get(key)
        if key in roles and isinstance(value, str) and value in ROLES:
            text = page.gettext(ROLES[value])
        else:
            text = _text(page, value)
        items.append((page.gettext(label) if label else key, text))
    return items


def _text(page: Page, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return page.gettext("yes") if value else page.gettext("no")
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_text(page, inner)}" for key, inner in value.items()) or "—"
    if isinstance(value, list):
        shown = ", ".join(_text(page, inner) for inner in value[:LIST_SHOWN]) or "—"
        if len(value) > LIST_SHOWN:
            shown += " " + page.gettext("and %(count)s more", count=len(value) - LIST_SHOWN)
        return shown
    return str(value)
