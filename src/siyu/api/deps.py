"""Request dependencies: a unit of work per request and API-key authentication with scopes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from siyu.db.session import get_engine, session_factory
from siyu.db.types import utcnow
from siyu.errors import Forbidden, Unauthorized
from siyu.kit.actor import Actor
from siyu.staff.models import ApiKey
from siyu.staff.service import authenticate_key


def get_session() -> Iterator[Session]:
    """The request's unit of work: committed when the handler returns, rolled back on error."""
    session = session_factory(get_engine())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


DbSession = Annotated[Session, Depends(get_session)]


def _key_from(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if key := request.headers.get("x-api-key"):
        return key.strip()
    raise Unauthorized("an API key is required: send `Authorization: Bearer <key>`")


def require(scope: str):  # type: ignore[no-untyped-def]
    """A dependency that authenticates the key and checks it holds `scope` (admin holds all)."""

    def dependency(request: Request, session: DbSession) -> Actor:
        key: ApiKey = authenticate_key(session, _key_from(request))
        scopes = set(key.scope_list)
        if scope not in scopes and "admin" not in scopes:
            raise Forbidden(f"this API key lacks the {scope!r} scope")
        now = utcnow()
        # Write the last-used time at most once a minute: reads should not all become writes.
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
            key.last_used_at = now
        return Actor(f"apikey:{key.id}", staff_id=key.created_by_id)

    return dependency


Reader = Annotated[Actor, Depends(require("read"))]
Writer = Annotated[Actor, Depends(require("write"))]
Admin = Annotated[Actor, Depends(require("admin"))]
