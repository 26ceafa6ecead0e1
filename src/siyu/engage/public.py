"""The public side of reach: unsubscribe links (/u/{token}) and the providers' hooks (/hooks/...).

No login, no session and no CSRF token: an unsubscribe link must work from any mail app, and
RFC 8058 one-click unsubscribe is a bare POST from the mailbox provider's servers
(`List-Unsubscribe=One-Click`), without cookies. The token itself is the authority: it is signed
and names one message. GET only shows a confirm button, since mail scanners open links.

The hooks are called by SMS providers and mail systems and want the shared secret
SIYU_SMS_REPLY_TOKEN as `?token=`; without it set they do not exist (404). They answer in the
provider's own format, and problem+json for a body they cannot read.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.orm import Session

from siyu.api.deps import get_session
from siyu.api.problems import problem
from siyu.config import get_settings
from siyu.console import i18n
from siyu.engage import sms_replies, suppressions, unsubscribe
from siyu.errors import Invalid, NotFound
from siyu.kit.actor import Actor

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
Db = Annotated[Session, Depends(get_session)]


def _render(request: Request, template: str, status: int = 200, **context: object) -> HTMLResponse:
    locale = i18n.choose_locale(
        request.cookies.get(i18n.LANG_COOKIE), request.headers.get("accept-language")
    )
    body = request.app.state.console_templates.render(
        locale, template, {"request": request, "locale": locale, **context}
    )
    # Never cached: the page reflects the consent as it stands, and carries a live token.
    headers = {"Content-Language": locale, "Cache-Control": "no-store"}
    return HTMLResponse(body, status_code=status, headers=headers)


def _missing(request: Request) -> HTMLResponse:
    return _render(request, "engage/public/missing.html", status=404)


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/u/{token}")
def unsubscribe_page(request: Request, session: Db, token: str) -> HTMLResponse:
    try:
        message = unsubscribe.message_for_token(session, token)
    except NotFound:
        return _missing(request)
    channel = unsubscribe.consent_channel_of(session, message)
    return _render(request, "engage/public/unsubscribe.html", token=token, channel=channel)


@router.post("/u/{token}")
def unsubscribe_now(request: Request, session: Db, token: str) -> HTMLResponse:
    # The body is not read: a confirm button and RFC 8058's `List-Unsubscribe=One-Click` mean
    # the same thing, and nothing else may be required of a mailbox provider's request.
    try:
        done = unsubscribe.unsubscribe(session, token=token, ip=_client_ip(request))
    except NotFound:
        return _missing(request)
    return _render(request, "engage/public/unsubscribed.html", channel=done.channel)


def _guard(request: Request) -> JSONResponse | None:
    """A problem to answer with when the hook is off or the token is wrong; None to go on."""
    expected = get_settings().sms_reply_token
    if not expected:
        return problem(404, "Not found", "this hook is not switched on (SIYU_SMS_REPLY_TOKEN)")
    given = request.query_params.get("token", "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return problem(403, "Forbidden", "missing or wrong ?token= for this hook")
    return None


async def _json(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise sms_replies.MalformedReply("the body is not JSON") from None


async def _replies(request: Request, session: Session, provider: str) -> Response:
    refused = _guard(request)
    if refused is not None:
        return refused
    try:
        body = await _json(request)
        parse = sms_replies.parse_aliyun if provider == "aliyun" else sms_replies.parse_tencent
        replies = parse(body)
    except sms_replies.MalformedReply as error:
        log.warning("malformed %s sms reply push: %s", provider, error.message)
        return problem(error.status, error.title, error.message)
    for reply in replies:
        sms_replies.handle(session, reply)
    if provider == "aliyun":
        return JSONResponse({"code": 0, "msg": "成功"})
    return JSONResponse({"result": 0, "errmsg": "OK"})


@router.post("/hooks/sms/aliyun")
async def aliyun_replies(request: Request, session: Db) -> Response:
    """Aliyun SMS uplink push (SmsUp): point 短信服务 → 通用设置 → 上行短信 HTTP 批量推送 here."""
    return await _replies(request, session, "aliyun")


@router.post("/hooks/sms/tencent")
async def tencent_replies(request: Request, session: Db) -> Response:
    """Tencent Cloud SMS reply callback (回复短信): point the application's callback here."""
    return await _replies(request, session, "tencent")


@router.post("/hooks/bounce")
async def bounce(request: Request, session: Db) -> Response:
    """A bounce or complaint from a mail system: {"email": …, "reason": …} suppresses it."""
    refused = _guard(request)
    if refused is not None:
        return refused
    try:
        body = await _json(request)
    except sms_replies.MalformedReply as error:
        return problem(400, "Malformed bounce", error.message)
    email = body.get("email") if isinstance(body, dict) else None
    reason = body.get("reason", "") if isinstance(body, dict) else ""
    if not isinstance(email, str) or not isinstance(reason, str | None):
        return problem(400, "Malformed bounce", 'a bounce is {"email": "…", "reason": "…"}')
    try:
        row, created = suppressions.add(
            session,
            address=email,
            kind="email",
            reason=reason or "bounce",
            source="bounce",
            actor=Actor.system(),
        )
    except Invalid as error:
        return problem(400, "Malformed bounce", error.message)
    log.info("bounce: %s suppressed (%s)", row["address"], "new" if created else "already")
    return JSONResponse({"suppressed": row["address"], "created": created})
