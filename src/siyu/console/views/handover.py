"""Handover (离职继承 / 在职继承): move one staff member's customers, all or a selection, to
another. Choose, see how many move, confirm; siyu.contacts.handover does the move and records
it in the audit log."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Form, Response

from siyu.console.labels import N_
from siyu.console.page import Page, SignedIn
from siyu.contacts import handover as handover_service
from siyu.contacts import service as contacts_service
from siyu.errors import Forbidden, Invalid, NotFound, SiyuError
from siyu.staff.service import list_staff

router = APIRouter()
SCOPES = ("all", "tag", "list")
# Pasted customers per handover; more than this is a job for a tag.
MAX_PASTED = 1000
_SEPARATORS = re.compile(r"[\s,，、;；]+")

SERVICE_MESSAGES = (
    N_("hand customers over to someone else"),
    N_("the viewer role may not change customers"),
    N_("the staff role may not change customers"),
)


@dataclass
class Choice:
    """What the form asked for, echoed back into it and into the confirmation."""

    from_login: str = ""
    to_login: str = ""
    scope: str = "all"
    tag: str = ""
    refs: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    contact_ids: list[int] | None = None

    def fields(self) -> dict[str, str]:
        fields = {"from_login": self.from_login, "to_login": self.to_login, "scope": self.scope}
        if self.scope == "tag":
            fields["tag"] = self.tag
        if self.scope == "list":
            fields["refs"] = ",".join(str(i) for i in self.contact_ids or [])
        return fields


Text = Annotated[str, Form()]


@router.get("/handover")
def handover_form(page: SignedIn, from_login: str = "") -> Response:
    return _form(page, Choice(from_login=from_login))


@router.post("/handover/preview")
def preview(
    page: SignedIn,
    from_login: Text = "",
    to_login: Text = "",
    scope: Text = "all",
    tag: Text = "",
    refs: Text = "",
) -> Response:
    choice = _choice(page, from_login, to_login, scope, tag, refs)
    if choice.errors:
        return _form(page, choice, status=422)
    try:
        seen = handover_service.preview_handover(page.session, actor=page.actor, **_args(choice))
    except Forbidden:
        return _refused(page)
    except (Invalid, NotFound) as error:
        choice.errors["form"] = page.gettext(error.message)
        return _form(page, choice, status=422)
    source, target = _staff(page, choice.from_login), _staff(page, choice.to_login)
    return page.render(
        "handover/preview.html",
        choice=choice,
        count=seen.count,
        sample=seen.sample,
        source=source,
        target=target,
        question=_question(page, seen.count, source, target),
    )


@router.post("/handover")
def move(
    page: SignedIn,
    from_login: Text = "",
    to_login: Text = "",
    scope: Text = "all",
    tag: Text = "",
    refs: Text = "",
    confirmed: Text = "",
) -> Response:
    choice = _choice(page, from_login, to_login, scope, tag, refs)
    if choice.errors:
        return _form(page, choice, status=422)
    if not confirmed:  # no JavaScript: ask on a page first
        try:
            count = handover_service.handover(
                page.session, actor=page.actor, preview=True, **_args(choice)
            )
        except Forbidden:
            return _refused(page)
        source, target = _staff(page, choice.from_login), _staff(page, choice.to_login)
        return page.confirm(
            _question(page, count, source, target),
            action="/handover",
            fields=choice.fields(),
            cancel="/handover",
        )
    try:
        moved = handover_service.handover(page.session, actor=page.actor, **_args(choice))
    except Forbidden:
        return _refused(page)
    except (Invalid, NotFound) as error:
        choice.errors["form"] = page.gettext(error.message)
        return _form(page, choice, status=422)
    source, target = _staff(page, choice.from_login), _staff(page, choice.to_login)
    return page.redirect(
        "/handover",
        flash=page.gettext(
            "%(count)s customers moved from %(source)s to %(target)s.",
            count=page.formats.number(moved),
            source=_name(source),
            target=_name(target),
        ),
    )


def _form(page: Page, choice: Choice, *, status: int = 200) -> Response:
    try:
        counts = handover_service.customers_per_owner(page.session, actor=page.actor)
    except Forbidden:
        return _refused(page)
    staff = list_staff(page.session)
    return page.render(
        "handover/form.html",
        status=status,
        choice=choice,
        sources=[(s, counts.get(s.id, 0)) for s in staff],
        targets=[s for s in staff if s.disabled_at is None],
        owned=sum(counts.values()),
    )


def _refused(page: Page) -> Response:
    message = page.gettext(
        "Only administrators and operators can hand customers over. Ask one of them."
    )
    return page.render("handover/refused.html", status=403, message=message)


def _choice(page: Page, from_login: str, to_login: str, scope: str, tag: str, refs: str) -> Choice:
    """The form's input, checked; customers pasted by id or identity are looked up."""
    choice = Choice(from_login.strip(), to_login.strip(), scope, tag.strip(), refs.strip())
    if not choice.from_login:
        choice.errors["from_login"] = page.gettext("Choose who hands customers over.")
    if not choice.to_login:
        choice.errors["to_login"] = page.gettext("Choose who takes them over.")
    if scope not in SCOPES:
        choice.scope = "all"
    if choice.scope == "tag" and not choice.tag:
        choice.errors["tag"] = page.gettext("Enter a tag, e.g. VIP or 兴趣:护肤.")
    if choice.scope == "list":
        _look_up(page, choice)
    return choice


def _look_up(page: Page, choice: Choice) -> None:
    tokens = [t for t in _SEPARATORS.split(choice.refs) if t]
    if not tokens:
        choice.errors["refs"] = page.gettext("Paste at least one customer id or identity.")
        return
    if len(tokens) > MAX_PASTED:
        choice.errors["refs"] = page.gettext(
            "Paste at most %(count)s customers at a time, or choose them by tag.",
            count=page.formats.number(MAX_PASTED),
        )
        return
    ids: list[int] = []
    missing: list[str] = []
    for token in dict.fromkeys(tokens):
        try:
            ids.append(contacts_service.get_by_ref(page.session, token, actor=page.actor).id)
        except (NotFound, Invalid):
            missing.append(token)
        except Forbidden:
            missing.append(token)
    if missing:
        shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
        choice.errors["refs"] = page.gettext(
            "Not found: %(refs)s. Correct or remove them and try again.", refs=shown
        )
    choice.contact_ids = sorted(set(ids))


def _args(choice: Choice) -> dict[str, Any]:
    return {
        "from_login": choice.from_login,
        "to_login": choice.to_login,
        "contact_ids": choice.contact_ids if choice.scope == "list" else None,
        "tag": choice.tag if choice.scope == "tag" else None,
    }


def _staff(page: Page, login: str) -> Any:
    try:
        return contacts_service.staff_by_login(page.session, login)
    except SiyuError:
        return None


def _name(staff: Any) -> str:
    if staff is None:
        return "—"
    return f"{staff.name} ({staff.login})" if staff.name else str(staff.login)


def _question(page: Page, count: int, source: Any, target: Any) -> str:
    return page.gettext(
        "Move %(count)s customers from %(source)s to %(target)s?",
        count=page.formats.number(count),
        source=_name(source),
        target=_name(target),
    )
