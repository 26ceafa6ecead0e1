"""What a console view works with: one object per request, from one dependency.

    from siyu.console.page import SignedIn

    @router.get("/customers")
    def customers(page: SignedIn) -> Response:
        rows = contacts_service.search(page.db, actor=page.actor, ...)
        return page.render("customers/list.html", rows=rows)

`SignedIn` redirects to /login (and back) when nobody is signed in; `Anyone` does not. CSRF
needs no line at all: every console router is included behind `verify_csrf`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from siyu.api.deps import get_session
from siyu.console import auth, i18n
from siyu.console.templating import Templates
from siyu.kit.actor import Actor
from siyu.staff.models import StaffUser

FLASH = "flash"
TOAST_EVENT = "siyu:toast"


@dataclass
class Page:
    request: Request
    db: Session | None
    staff: StaffUser | None
    locale: str

    @property
    def templates(self) -> Templates:
        return self.request.app.state.console_templates  # type: ignore[no-any-return]

    @property
    def actor(self) -> Actor:
        """The signed-in staff member as the services' Actor, with their role."""
        if self.staff is None:
            raise auth.LoginRequired(self.request.url.path)
        return Actor(f"staff:{self.staff.login}", staff_id=self.staff.id, role=self.staff.role)

    @property
    def session(self) -> Session:
        assert self.db is not None, "error pages have no database session"
        return self.db

    @property
    def is_htmx(self) -> bool:
        return self.request.headers.get("hx-request") == "true"

    @property
    def csrf_token(self) -> str:
        return auth.csrf_token(self.request)

    @property
    def formats(self) -> i18n.Formats:
        return i18n.Formats(self.locale)

    def gettext(self, message: str, **values: Any) -> str:
        """Translate in a view; `%(name)s` placeholders are filled from `values`."""
        text = self.templates.translations[self.locale].gettext(message)
        return text % values if values else text

    def flash(self, message: str, level: str = "success") -> None:
        """A message shown once on the next page, for redirects after a form post."""
        self.request.session[FLASH] = [
            *self.request.session.get(FLASH, []),
            {"message": message, "level": level},
        ]

    def render(self, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        flashes = self.request.session.pop(FLASH, []) if "session" in self.request.scope else []
        signed_in_name = self.staff.name or self.staff.login if self.staff else None
        if signed_in_name is None and "session" in self.request.scope:
            signed_in_name = self.request.session.get(auth.NAME)
        body = self.templates.render(
            self.locale,
            template,
            {
                "page": self,
                "request": self.request,
                "staff": self.staff,
                "signed_in_name": signed_in_name,
                "csrf_token": self.csrf_token if "session" in self.request.scope else "",
                "flashes": flashes,
                "path": self.request.url.path,
                **context,
            },
        )
        return HTMLResponse(body, status_code=status)

    def redirect(self, url: str, *, flash: str | None = None, level: str = "success") -> Response:
        """After a post: 303 for a plain form, HX-Redirect for HTMX (which would swap a 303)."""
        if flash:
            self.flash(flash, level)
        if self.is_htmx:
            return Response(status_code=204, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)

    def confirm(
        self, question: str, *, action: str, fields: dict[str, str] | None = None, cancel: str = "/"
    ) -> HTMLResponse:
        """The page that asks before a destructive action when JavaScript (hx-confirm) is off.

        Views check a `confirmed` form field; the confirm_button macro sends it with HTMX.
        """
        return self.render(
            "confirm.html", question=question, action=action, fields=fields or {}, cancel=cancel
        )


def toast(response: Response, message: str, level: str = "success") -> Response:
    """Show a toast after an HTMX request (siyu.js listens for the event)."""
    response.headers["HX-Trigger"] = json.dumps(
        {TOAST_EVENT: {"message": message, "level": level}}, ensure_ascii=True
    )
    return response


def request_locale(request: Request) -> str:
    if not hasattr(request.state, "locale"):
        request.state.locale = i18n.choose_locale(
            request.cookies.get(i18n.LANG_COOKIE), request.headers.get("accept-language")
        )
    return str(request.state.locale)


def anyone(request: Request, db: Annotated[Session, Depends(get_session)]) -> Page:
    staff = auth.current_staff(request, db)
    return Page(request, db, staff, request_locale(request))


def signed_in(request: Request, db: Annotated[Session, Depends(get_session)]) -> Page:
    return Page(request, db, auth.require_staff(request, db), request_locale(request))


Anyone = Annotated[Page, Depends(anyone)]
SignedIn = Annotated[Page, Depends(signed_in)]
