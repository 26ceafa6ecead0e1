"""Errors on console pages as friendly pages (or toasts for HTMX), never a traceback.

The API keeps its problem+json: each handler below hands /api requests to the handler the API
installed for the same exception class.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException

from siyu.console import auth
from siyu.console.labels import N_
from siyu.console.page import Page, request_locale, toast
from siyu.errors import SiyuError

log = logging.getLogger(__name__)
Handler = Callable[[Request, Any], Awaitable[Response]]

# Titles by status, in the user's language; the message says what happened and what to do.
TITLES = {
    400: N_("The request was not understood"),
    401: N_("Please sign in"),
    403: N_("Not allowed"),
    404: N_("Page not found"),
    405: N_("Not allowed"),
    409: N_("Conflict"),
    422: N_("Please check your input"),
    500: N_("Something went wrong"),
}
MESSAGES = {
    404: N_("There is no page at this address. It may have moved, or the link may be mistyped."),
    500: N_("Something went wrong on our side. It was logged; please try again."),
}
CSRF_MESSAGE = N_("This form has expired or did not come from this site. Reload and try again.")
VALIDATION_MESSAGE = N_("Some of the input was not understood. Go back, check it and try again.")


def is_api(request: Request) -> bool:
    return request.url.path == "/api" or request.url.path.startswith("/api/")


def error_page(request: Request, status: int, message: str) -> Response:
    locale = request_locale(request)
    page = Page(request, None, None, locale)
    title = page.gettext(TITLES.get(status, TITLES[400 if status < 500 else 500]))
    if page.is_htmx:
        # HTMX does not swap error responses; the toast tells what happened.
        return toast(Response(status_code=status), message, "error")
    return page.render("error.html", status=status, code=status, title=title, message=message)


def _login_redirect(request: Request, error: auth.LoginRequired) -> Response:
    target = error.next_url
    if request.headers.get("hx-request") == "true":
        current = urlsplit(request.headers.get("hx-current-url", ""))
        target = current.path + (f"?{current.query}" if current.query else "") or "/"
    url = "/login" if target == "/" else f"/login?next={quote(target, safe='/')}"
    if error.ended:
        url += ("&" if "?" in url else "?") + "ended=1"
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def install(app: FastAPI) -> None:
    api: dict[Any, Handler] = dict(app.exception_handlers)  # type: ignore[arg-type]

    def html_or_api(kind: Any, html: Handler) -> None:
        async def handler(request: Request, error: Any) -> Response:
            if is_api(request) and kind in api:
                return await api[kind](request, error)
            return await html(request, error)

        app.add_exception_handler(kind, handler)

    async def login_required(request: Request, error: auth.LoginRequired) -> Response:
        return _login_redirect(request, error)

    async def siyu_error(request: Request, error: SiyuError) -> Response:
        page = Page(request, None, None, request_locale(request))
        if isinstance(error, auth.CsrfFailed):
            return error_page(request, 403, page.gettext(CSRF_MESSAGE))
        # Service messages are English; a page's .po may translate them by their exact text.
        return error_page(request, error.status, page.gettext(error.message))

    async def http_error(request: Request, error: HTTPException) -> Response:
        page = Page(request, None, None, request_locale(request))
        message = MESSAGES.get(error.status_code)
        text = page.gettext(message) if isinstance(message, str) else str(error.detail)
        return error_page(request, error.status_code, text)

    async def validation_error(request: Request, error: RequestValidationError) -> Response:
        page = Page(request, None, None, request_locale(request))
        return error_page(request, 422, page.gettext(VALIDATION_MESSAGE))

    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        page = Page(request, None, None, request_locale(request))
        return error_page(request, 500, page.gettext(MESSAGES[500]))

    app.add_exception_handler(auth.LoginRequired, login_required)  # type: ignore[arg-type]
    html_or_api(SiyuError, siyu_error)
    html_or_api(HTTPException, http_error)
    html_or_api(RequestValidationError, validation_error)
    html_or_api(Exception, unexpected)
