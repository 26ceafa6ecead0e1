"""Console sessions and CSRF.

The session is a signed cookie (Starlette's SessionMiddleware, itsdangerous): HttpOnly,
SameSite=Lax. It holds the staff id and a version derived from the password hash, so a password
change (or an administrator setting a new one) ends every other session; a disabled account is
refused on its next request.
"""

from __future__ import annotations

import hashlib
import secrets
from urllib.parse import urlsplit

from fastapi import Request
from sqlalchemy.orm import Session

from siyu.errors import Forbidden
from siyu.staff.models import StaffUser

STAFF_ID = "staff_id"
VERSION = "staff_version"
NAME = "staff_name"
CSRF = "csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class LoginRequired(Exception):
    """Raised by a page that needs a signed-in staff member; answered by a redirect to /login."""

    def __init__(self, next_url: str, *, ended: bool = False) -> None:
        super().__init__(next_url)
        self.next_url = next_url
        self.ended = ended  # a session existed and was ended (password changed, disabled)


class CsrfFailed(Forbidden):
    title = "Form expired"


def session_version(staff: StaffUser) -> str:
    return hashlib.sha256((staff.password_hash or "").encode()).hexdigest()[:16]


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (also before sign-in: the login form posts)."""
    token = request.session.get(CSRF)
    if not token:
        token = request.session[CSRF] = secrets.token_urlsafe(32)
    return str(token)


async def verify_csrf(request: Request) -> None:
    """Refuse a state-changing request that lacks this session's token (form field or header).

    Every console router is included with this dependency (see console/app.py), so no page can
    forget it.
    """
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get(CSRF)
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not (expected and sent and secrets.compare_digest(str(expected), sent)):
        raise CsrfFailed(
            "this form has expired or did not come from this site; reload the page and try again"
        )


def sign_in(request: Request, staff: StaffUser) -> None:
    # A fresh session and token at sign-in: nothing from before it carries over.
    request.session.clear()
    request.session.update(
        {
            STAFF_ID: staff.id,
            VERSION: session_version(staff),
            NAME: staff.name or staff.login,
            CSRF: secrets.token_urlsafe(32),
        }
    )


def refresh(request: Request, staff: StaffUser) -> None:
    """Keep this session valid after its own password change (others end)."""
    request.session[VERSION] = session_version(staff)


def sign_out(request: Request) -> None:
    request.session.clear()


def current_staff(request: Request, db: Session) -> StaffUser | None:
    """The signed-in staff member; None (and the session ended) when it no longer holds."""
    staff_id = request.session.get(STAFF_ID)
    if staff_id is None:
        return None
    staff = db.get(StaffUser, staff_id) if isinstance(staff_id, int) else None
    if (
        staff is None
        or staff.disabled_at is not None
        or request.session.get(VERSION) != session_version(staff)
    ):
        sign_out(request)
        raise LoginRequired(_here(request), ended=True)
    return staff


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def require_staff(request: Request, db: Session) -> StaffUser:
    staff = current_staff(request, db)
    if staff is None:
        raise LoginRequired(_here(request))
    return staff


def local_path(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None (no other host, no scheme tricks)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ord(c) < 32 or c == "\\" for c in target):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: a path on this site other than the sign-in page itself."""
    path = local_path(target)
    return "/" if path is None or urlsplit(path).path in ("/login", "/logout") else path
