"""The public side: landing pages at /p/{slug}, their images, and channel code scans at /c/{code}.

No login and no session: a visitor's browser may refuse cookies, and a sign-up form has no
signed-in state for a forged request to abuse, so these routes are not behind the console's
CSRF check. Bots are held off by a honeypot field and a per-IP rate limit (see service.submit).
Pages are rendered with the console's templates and translations, Chinese unless the browser
asks for English.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy.orm import Session

from siyu.api.deps import get_session
from siyu.console import i18n
from siyu.ingest.inbound import service
from siyu.ingest.inbound.models import UTM_KEYS, InboundForm, InboundPage

router = APIRouter(include_in_schema=False)
Db = Annotated[Session, Depends(get_session)]
CHANNEL_COOKIE_DAYS = 30

# CommonMark without raw HTML: a `<script>` in the text is shown as text, never run, and
# markdown-it refuses javascript: and data: links on its own.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def render_markdown(text: str) -> Markup:
    return Markup(_markdown.render(text or ""))


def _locale(request: Request) -> str:
    return i18n.choose_locale(
        request.cookies.get(i18n.LANG_COOKIE), request.headers.get("accept-language")
    )


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _render(request: Request, template: str, status: int = 200, **context: object) -> HTMLResponse:
    locale = _locale(request)
    body = request.app.state.console_templates.render(
        locale, template, {"request": request, "locale": locale, **context}
    )
    return HTMLResponse(body, status_code=status, headers={"Content-Language": locale})


def _page_context(
    session: Session, page: InboundPage, request: Request
) -> tuple[InboundForm | None, dict[str, object]]:
    form = service.get_form(session, page.form_id) if page.form_id else None
    return form, {
        "landing": page,
        "form": form,
        "fields": service.form_fields(form) if form else [],
        "body": render_markdown(page.body_markdown),
        "honeypot": service.HONEYPOT,
    }


@router.get("/p/media/{name}")
def image(name: str) -> FileResponse:
    return FileResponse(
        service.image_path(name), headers={"Cache-Control": "public, max-age=31536000, immutable"}
    )


@router.get("/p/{slug}")
def landing_page(request: Request, session: Db, slug: str) -> HTMLResponse:
    page = service.published_page(session, slug)
    _form, context = _page_context(session, page, request)
    query = request.query_params
    hidden = {k: query[k][:200] for k in (*UTM_KEYS, service.CHANNEL_PARAM) if query.get(k)}
    return _render(
        request, "inbound/public/page.html", values={}, errors={}, hidden=hidden, **context
    )


@router.post("/p/{slug}")
async def sign_up(request: Request, session: Db, slug: str) -> Response:
    page = service.published_page(session, slug)
    form, context = _page_context(session, page, request)
    if form is None:
        return RedirectResponse(f"/p/{page.slug}", status_code=303)
    posted = await request.form()
    values = {k: v for k, v in posted.items() if isinstance(v, str)}
    utm = {k: values.get(k, "") for k in UTM_KEYS}
    code = values.get(service.CHANNEL_PARAM) or request.cookies.get(service.CHANNEL_COOKIE)
    outcome = service.submit(
        session,
        form=form,
        values=values,
        consent=values.get("consent") == "yes",
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
        utm=utm,
        referrer=request.headers.get("referer"),
        page=page,
        channel_code=code,
    )
    if outcome.errors:
        hidden = {k: values[k][:200] for k in (*UTM_KEYS, service.CHANNEL_PARAM) if values.get(k)}
        return _render(
            request,
            "inbound/public/page.html",
            status=422,
            values=values,
            errors=outcome.errors,
            hidden=hidden,
            **context,
        )
    # A bot caught by the honeypot is thanked like anyone, so it learns nothing.
    return _render(
        request,
        "inbound/public/thanks.html",
        status=429 if outcome.dropped == "limited" else 200,
        limited=outcome.dropped == "limited",
        **context,
    )


@router.get("/c/{code}")
def channel_scan(request: Request, session: Db, code: str) -> Response:
    found, target = service.scan(
        session,
        code=code,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    response = RedirectResponse(target, status_code=302)
    # Also remembered in a cookie, for a visitor who wanders off the page before signing up.
    response.set_cookie(
        service.CHANNEL_COOKIE,
        found.code,
        max_age=CHANNEL_COOKIE_DAYS * 24 * 3600,
        httponly=True,
        samesite="lax",
    )
    response.headers["Cache-Control"] = "no-store"
    return response
