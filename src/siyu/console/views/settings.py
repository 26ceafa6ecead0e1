"""Settings: staff accounts, API keys, and the timezone and currency the server runs with.

Staff and keys go through siyu.staff.service, which checks that the signed-in person may manage
them (administrators) and writes the audit log; the timezone and currency are read-only here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from babel.dates import get_timezone_name
from babel.numbers import get_currency_name
from fastapi import APIRouter, Form, Response
from fastapi.responses import RedirectResponse

from siyu.config import get_settings
from siyu.console import auth
from siyu.console.labels import N_, ROLES
from siyu.console.page import Page, SignedIn
from siyu.db.types import utcnow
from siyu.errors import Conflict, Forbidden, Invalid, SiyuError
from siyu.staff import service as staff_service
from siyu.staff.models import SCOPES, StaffUser
from siyu.staff.permissions import allow

router = APIRouter()
T = TypeVar("T")

SCOPE_LABELS = {
    "read": N_("Read only"),
    "write": N_("Read and write"),
    "admin": N_("Administrator"),
}
SCOPE_HELP = {
    "read": N_("Reads customers, orders and reports; changes nothing."),
    "write": N_("Also imports files and changes customers, like an operator."),
    "admin": N_("Everything, including staff, API keys and the audit log."),
}
# Messages of the staff services shown as they are (translated by their exact English text).
SERVICE_MESSAGES = (
    N_("you cannot disable your own account; ask another administrator"),
    N_("you cannot change the role of your own account; ask another administrator"),
)


def may_manage(page: Page) -> bool:
    try:
        allow(page.actor, "manage")
    except Forbidden:
        return False
    return True


def _refused(page: Page) -> Response:
    return page.render(
        "error.html",
        status=403,
        code=403,
        title=page.gettext("Not allowed"),
        message=page.gettext(
            "Only administrators manage staff accounts and API keys. Ask one if you need an "
            "account or a key."
        ),
    )


def _guarded(page: Page, work: Callable[[], T]) -> T | Response:
    try:
        return work()
    except Forbidden:
        return _refused(page)


@router.get("/settings")
def settings_home(page: SignedIn) -> Response:
    target = "/settings/staff" if may_manage(page) else "/settings/locale"
    return RedirectResponse(target, status_code=303)


# --- staff ---------------------------------------------------------------------------------


def _staff_page(
    page: Page, *, status: int = 200, form: dict[str, str] | None = None, **context: Any
) -> Response:
    staff = _guarded(page, lambda: staff_service.list_staff(page.session, actor=page.actor))
    if isinstance(staff, Response):
        return staff
    return page.render(
        "settings/staff.html",
        status=status,
        tab="staff",
        manage=True,
        members=staff,
        roles=_roles(page),
        form=form or {"role": "staff"},
        errors=context.pop("errors", {}),
        now=utcnow(),
        **context,
    )


def _roles(page: Page) -> list[tuple[str, str]]:
    return [(code, page.gettext(label)) for code, label in ROLES.items()]


@router.get("/settings/staff")
def staff_list(page: SignedIn) -> Response:
    return _staff_page(page)


@router.post("/settings/staff")
def staff_create(
    page: SignedIn,
    login: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "staff",
    password: Annotated[str, Form()] = "",
) -> Response:
    form = {"login": login, "name": name, "email": email, "phone": phone, "role": role}
    errors: dict[str, str] = {}
    if not password:
        errors["password"] = page.gettext("Enter an initial password of at least 8 characters.")
    else:
        try:
            staff = staff_service.create_staff(
                page.session,
                login=login,
                name=name.strip(),
                role=role,
                email=email.strip() or None,
                phone=phone.strip() or None,
                password=password,
                actor=page.actor,
            )
        except Forbidden:
            return _refused(page)
        except (Invalid, Conflict) as error:
            errors.update(_create_error(page, error))
    if errors:
        return _staff_page(page, status=422, form=form, errors=errors, open_form=True)
    return page.redirect(
        "/settings/staff",
        flash=page.gettext(
            "%(login)s can now sign in. Give them their login and initial password.",
            login=staff.login,
        ),
    )


def _create_error(page: Page, error: SiyuError) -> dict[str, str]:
    """The field a staff service error belongs to, with a message in the page's language."""
    text = error.message
    if text == "a staff member needs a login":
        return {"login": page.gettext("Enter a login.")}
    if text.startswith("staff login"):
        return {"login": page.gettext("This login is taken. Choose another.")}
    if "is not an e-mail address" in text:
        return {"email": page.gettext("This is not an e-mail address.")}
    if "already has email" in text:
        return {"email": page.gettext("Another staff member has this e-mail address.")}
    if "is not a phone number" in text:
        return {"phone": page.gettext("This is not a phone number.")}
    if "already has phone" in text:
        return {"phone": page.gettext("Another staff member has this phone number.")}
    if text.startswith("unknown role"):
        return {"role": page.gettext("Choose one of the roles.")}
    if "password" in text:
        return {"password": page.gettext(text)}
    return {"form": page.gettext(text)}


def _member(page: Page, staff_id: int) -> StaffUser | Response:
    def find() -> StaffUser:
        allow(page.actor, "manage")
        return staff_service.get_staff_by_id(page.session, staff_id)

    return _guarded(page, find)


def _member_page(
    page: Page, member: StaffUser, *, status: int = 200, errors: dict[str, str] | None = None
) -> Response:
    return page.render(
        "settings/member.html",
        status=status,
        tab="staff",
        manage=True,
        member=member,
        roles=_roles(page),
        errors=errors or {},
        is_self=member.id == page.actor.staff_id,
        now=utcnow(),
    )


@router.get("/settings/staff/{staff_id}")
def staff_detail(page: SignedIn, staff_id: int) -> Response:
    member = _member(page, staff_id)
    return member if isinstance(member, Response) else _member_page(page, member)


@router.post("/settings/staff/{staff_id}/role")
def staff_role(page: SignedIn, staff_id: int, role: Annotated[str, Form()] = "") -> Response:
    member = _member(page, staff_id)
    if isinstance(member, Response):
        return member
    before = member.role
    try:
        staff_service.set_role(page.session, login=member.login, role=role, actor=page.actor)
    except Invalid:
        return _member_page(
            page, member, status=422, errors={"role": page.gettext("Choose one of the roles.")}
        )
    except Conflict as error:
        url = f"/settings/staff/{member.id}"
        return page.redirect(url, flash=page.gettext(error.message), level="error")
    url = f"/settings/staff/{member.id}"
    if before == member.role:
        return page.redirect(url)
    return page.redirect(
        url,
        flash=page.gettext(
            "%(name)s is now: %(role)s.",
            name=member.name or member.login,
            role=page.gettext(ROLES[member.role]),
        ),
    )


@router.post("/settings/staff/{staff_id}/password")
def staff_password(
    page: SignedIn,
    staff_id: int,
    password: Annotated[str, Form()] = "",
    repeat: Annotated[str, Form()] = "",
) -> Response:
    member = _member(page, staff_id)
    if isinstance(member, Response):
        return member
    if password != repeat:
        errors = {"repeat": page.gettext("The two passwords differ.")}
        return _member_page(page, member, status=422, errors=errors)
    try:
        staff_service.set_password(
            page.session, login=member.login, password=password, actor=page.actor
        )
    except Invalid as error:
        return _member_page(
            page, member, status=422, errors={"password": page.gettext(error.message)}
        )
    if member.id == page.actor.staff_id:
        page.session.flush()
        auth.refresh(page.request, member)  # one's own session stays; the others end
    return page.redirect(
        f"/settings/staff/{member.id}",
        flash=page.gettext(
            "Password set. %(name)s is signed out everywhere else; give them the new password.",
            name=member.name or member.login,
        ),
    )


@router.post("/settings/staff/{staff_id}/disable")
def staff_disable(
    page: SignedIn, staff_id: int, confirmed: Annotated[str, Form()] = ""
) -> Response:
    member = _member(page, staff_id)
    if isinstance(member, Response):
        return member
    name = member.name or member.login
    if not confirmed:
        return page.confirm(
            page.gettext(
                "Disable %(name)s? They are signed out at once and their API keys stop working.",
                name=name,
            ),
            action=f"/settings/staff/{member.id}/disable",
            cancel=f"/settings/staff/{member.id}",
        )
    try:
        staff_service.disable_staff(page.session, login=member.login, actor=page.actor)
    except Conflict as error:
        return page.redirect(
            f"/settings/staff/{member.id}", flash=page.gettext(error.message), level="error"
        )
    return page.redirect(
        f"/settings/staff/{member.id}",
        flash=page.gettext(
            "%(name)s is disabled. Hand their customers over if they are leaving.", name=name
        ),
    )


@router.post("/settings/staff/{staff_id}/enable")
def staff_enable(page: SignedIn, staff_id: int) -> Response:
    member = _member(page, staff_id)
    if isinstance(member, Response):
        return member
    staff_service.enable_staff(page.session, login=member.login, actor=page.actor)
    return page.redirect(
        f"/settings/staff/{member.id}",
        flash=page.gettext("%(name)s can sign in again.", name=member.name or member.login),
    )


# --- API keys ------------------------------------------------------------------------------


def _keys_page(page: Page, *, status: int = 200, **context: Any) -> Response:
    keys = _guarded(page, lambda: staff_service.list_api_keys(page.session, actor=page.actor))
    if isinstance(keys, Response):
        return keys
    owners = {s.id: s for s in staff_service.list_staff(page.session)}
    return page.render(
        "settings/api_keys.html",
        status=status,
        tab="keys",
        manage=True,
        keys=list(reversed(keys)),
        owners=owners,
        scopes=[
            (code, page.gettext(SCOPE_LABELS[code]), page.gettext(SCOPE_HELP[code]))
            for code in SCOPES
        ],
        scope_labels={code: page.gettext(label) for code, label in SCOPE_LABELS.items()},
        form=context.pop("form", {"name": "", "scope": "read"}),
        errors=context.pop("errors", {}),
        created=context.pop("created", None),
        secret=context.pop("secret", None),
        **context,
    )


@router.get("/settings/api-keys")
def keys_list(page: SignedIn) -> Response:
    return _keys_page(page)


@router.post("/settings/api-keys")
def keys_create(
    page: SignedIn, name: Annotated[str, Form()] = "", scope: Annotated[str, Form()] = "read"
) -> Response:
    form = {"name": name, "scope": scope}
    if not name.strip():
        errors = {"name": page.gettext("Say what the key is for, e.g. “BI export”.")}
        return _keys_page(page, status=422, form=form, errors=errors)
    if scope not in SCOPES:
        errors = {"scope": page.gettext("Choose what the key may do.")}
        return _keys_page(page, status=422, form=form, errors=errors)
    try:
        key, secret = staff_service.create_api_key(
            page.session, name=name.strip()[:120], scopes=[scope], actor=page.actor
        )
    except Forbidden:
        return _refused(page)
    page.session.flush()
    # The secret is shown in this response only: never in a redirect's flash, because the
    # session cookie is signed, not encrypted.
    return _keys_page(page, status=201, created=key, secret=secret)


@router.post("/settings/api-keys/{key_id}/revoke")
def keys_revoke(page: SignedIn, key_id: int, confirmed: Annotated[str, Form()] = "") -> Response:
    if not confirmed:
        if not may_manage(page):
            return _refused(page)
        return page.confirm(
            page.gettext(
                "Revoke this API key? Programs that use it are refused from now on. "
                "This cannot be undone."
            ),
            action=f"/settings/api-keys/{key_id}/revoke",
            cancel="/settings/api-keys",
        )
    revoked = _guarded(
        page,
        lambda: staff_service.revoke_api_key(
            page.session, key_id_or_prefix=str(key_id), actor=page.actor
        ),
    )
    if isinstance(revoked, Response):
        return revoked
    return page.redirect(
        "/settings/api-keys",
        flash=page.gettext("The key %(name)s is revoked.", name=revoked.name),
    )


# --- timezone and locale -------------------------------------------------------------------


@router.get("/settings/locale")
def locale_settings(page: SignedIn) -> Response:
    settings = get_settings()
    now = utcnow()
    local = now.astimezone(settings.zone)
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    babel_locale = page.locale
    return page.render(
        "settings/locale.html",
        tab="locale",
        manage=may_manage(page),
        timezone=settings.timezone,
        timezone_name=_safe(lambda: get_timezone_name(settings.zone, locale=babel_locale)),
        utc_offset=f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}",
        now=now,
        currency=settings.currency,
        currency_name=_safe(lambda: get_currency_name(settings.currency, locale=babel_locale)),
        region=settings.default_region,
    )


def _safe(work: Callable[[], str]) -> str:
    try:
        return work()
    except (LookupError, ValueError):
        return ""
