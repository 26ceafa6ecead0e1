"""Signing in and out, changing one's password, choosing the language."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from siyu.console import auth, i18n
from siyu.console.labels import N_
from siyu.console.page import Anyone, SignedIn
from siyu.errors import Invalid, Unauthorized
from siyu.staff import auth as staff_auth

router = APIRouter()
LANG_COOKIE_DAYS = 365

# Messages of the staff services, translated by their exact English text.
SERVICE_MESSAGES = (
    N_("the current password is wrong"),
    N_("a password needs at least 8 characters"),
    N_("the new password must differ from the current one"),
)


@router.get("/login")
def login_form(page: Anyone, next: str = "/", ended: bool = False) -> Response:
    if page.staff is not None:
        return RedirectResponse(auth.safe_next(next), status_code=303)
    notice = page.gettext("Your session has ended. Please sign in again.") if ended else None
    return page.render("login.html", next=auth.safe_next(next), identifier="", notice=notice)


@router.post("/login")
def login(
    page: Anyone,
    identifier: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    result = staff_auth.sign_in(page.session, identifier=identifier, password=password)
    if not result.ok or result.staff is None:
        # The failure (count, delay, lock) is committed with this response, like a success.
        return page.render(
            "login.html",
            status=401,
            next=auth.safe_next(next),
            identifier=identifier,
            error=_sign_in_error(page, result),
            notice=None,
        )
    auth.sign_in(page.request, result.staff)
    # Committed before the redirect leaves: the request's own commit comes after the response
    # is sent, and a password rehashed at sign-in changes the session's version, so the page
    # the browser asks for next would otherwise still see the old hash and end the session.
    page.session.commit()
    return RedirectResponse(auth.safe_next(next), status_code=303)


def _sign_in_error(page: Anyone, result: staff_auth.SignIn) -> str:
    if result.error == staff_auth.WRONG:
        if result.retry_after:
            return page.gettext(
                "Wrong login or password. Wait %(seconds)s seconds before trying again.",
                seconds=result.retry_after,
            )
        return page.gettext("Wrong login or password.")
    if result.retry_after and result.retry_after < 120:
        return page.gettext(
            "Too many failed sign-ins. Try again in %(seconds)s seconds.",
            seconds=result.retry_after,
        )
    if result.retry_after:
        return page.gettext(
            "Too many failed sign-ins. Try again in %(minutes)s minutes.",
            minutes=-(-result.retry_after // 60),
        )
    return page.gettext("This account is disabled. Ask an administrator.")


@router.post("/logout")
def logout(page: Anyone) -> Response:
    auth.sign_out(page.request)
    return page.redirect("/login")


@router.get("/account/password")
def password_form(page: SignedIn) -> Response:
    return page.render("account/password.html", errors={})


@router.post("/account/password")
def change_password(
    page: SignedIn,
    current: Annotated[str, Form()] = "",
    new: Annotated[str, Form()] = "",
    repeat: Annotated[str, Form()] = "",
) -> Response:
    errors: dict[str, str] = {}
    if new != repeat:
        errors["repeat"] = page.gettext("The two new passwords differ.")
    else:
        assert page.staff is not None
        try:
            staff_auth.change_password(
                page.session, staff=page.staff, current=current, new=new, actor=page.actor
            )
        except Unauthorized as error:
            errors["current"] = page.gettext(error.message)
        except Invalid as error:
            errors["new"] = page.gettext(error.message)
    if errors:
        return page.render("account/password.html", status=422, errors=errors)
    page.session.flush()
    auth.refresh(page.request, page.staff)
    page.session.commit()  # before the redirect, as at sign-in: the new hash is the version
    return page.redirect("/", flash=page.gettext("Your password was changed."))


@router.get("/lang/{code}")
def switch_language(code: str, request: Request, next: str | None = None) -> Response:
    """Remember the language in a cookie and go back to the page the switch was clicked on."""
    back = auth.local_path(next)
    if back is None:
        referer = urlsplit(request.headers.get("referer", ""))
        if referer.netloc == request.url.netloc:
            back = auth.local_path(referer.path + (f"?{referer.query}" if referer.query else ""))
    response = RedirectResponse(back or "/", status_code=303)
    if code in i18n.LOCALES:
        response.set_cookie(
            i18n.LANG_COOKIE,
            code,
            max_age=LANG_COOKIE_DAYS * 24 * 3600,
            httponly=True,
            samesite="lax",
        )
    return response
