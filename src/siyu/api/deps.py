"""Request dependencies: a unit of work per request and API-key authentication with scopes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from siyu.api.schemas import has_nul
from siyu.db.session import get_engine, session_factory, writing
from siyu.db.types import utcnow
from siyu.errors import Forbidden, Invalid, Unauthorized
from siyu.kit.actor import Actor
from siyu.staff.models import ApiKey
from siyu.staff.service import authenticate_key

# Requests that may write; on SQLite they wait for the write lock from their first statement.
WRITING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: committed when the handler returns, rolled back on error."""
    engine = get_engine()
    if request.method in WRITING_METHODS:
        engine = writing(engine)
    session = session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


DbSession = Annotated[Session, Depends(get_session)]

# Ids are 64-bit in both databases; a larger number cannot name anything and must not reach SQL.
MAX_ID = 2**63 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID, description="A numeric id")]


def _check_text(request: Request) -> None:
    # PostgreSQL refuses NUL in text; say so instead of failing inside the query.
    if has_nul(list(request.path_params.values())) or has_nul(request.query_params.multi_items()):
        raise Invalid("the path and query must not contain NUL (%00) characters")


def _key_from(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if key := request.headers.get("x-api-key"):
        return key.strip()
    raise Unauthorized("an API key is required: send `Authorization: Bearer <key>`")


# Scopes are ranked: a key that may write may read what it wrote, an admin key may do anything.
IMPLIED = {"read": ("read",), "write": ("read", "write"), "admin": ("read", "write", "admin")}


def role_of(scopes: set[str]) -> str:
    """The role a key acts with: admin keys as admins, write keys as operators, read as viewers."""
    if "admin" in scopes:
        return "admin"
    return "operator" if "write" in scopes else "viewer"


def require(scope: str):  # type: ignore[no-untyped-def]
    """A dependency that authenticates the key and checks it holds `scope` (admin holds all)."""

    def dependency(request: Request, session: DbSession) -> Actor:
        key: ApiKey = authenticate_key(session, _key_from(request))
        scopes = {s for held in key.scope_list for s in IMPLIED.get(held, (held,))}
        if scope not in scopes:
            raise Forbidden(f"this API key lacks the {scope!r} scope")
        # Every route runs this dependency once, after authentication, so checked here.
        _check_text(request)
        now = utcnow()
        # Write the last-used time at most once a minute: reads should not all become writes.
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
            key.last_used_at = now
        return Actor(f"apikey:{key.id}", staff_id=key.created_by_id, role=role_of(scopes))

    return dependency


Reader = Annotated[Actor, Depends(require("read"))]
Writer = Annotated[Actor, Depends(require("write"))]
Admin = Annotated[Actor, Depends(require("admin"))]
