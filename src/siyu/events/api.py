"""The Segment-compatible tracking API at /v1, and source management under /api/v1/sources.

/v1 answers as Segment's does, not with the problem+json of /api: success is exactly
200 {"success": true}; a bad request 400 and a bad key 401, each {"code", "message"}. SDKs retry
anything else, and deduplication on messageId makes those retries harmless.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from siyu.api.deps import Admin, DbSession
from siyu.db.session import get_engine
from siyu.db.types import utcnow
from siyu.errors import SiyuError, Unauthorized
from siyu.events import service, sources
from siyu.events.intake import (
    MAX_BATCH_BYTES,
    MAX_EVENT_BYTES,
    BadRequest,
    decode_body,
    read_request,
)
from siyu.events.web import preflight, with_cors
from siyu.events.writer import Unavailable, Writer

log = logging.getLogger(__name__)
router = APIRouter(tags=["events"], include_in_schema=True)
admin_router = APIRouter(prefix="/sources", tags=["events"])

KINDS = ("identify", "track", "page", "screen", "group", "alias", "batch")
OK = {"success": True}
_writers = threading.Lock()


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


async def _read(request: Request, limit: int) -> bytes:
    """The raw body, refusing early once it passes the limit (compressed bodies only shrink)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BadRequest("too_large", f"the body is larger than {limit // 1024} KB")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequest("too_large", f"the body is larger than {limit // 1024} KB")
        chunks.append(chunk)
    return b"".join(chunks)


def _header_key(request: Request) -> tuple[bool, str | None]:
    """(whether the header names a write key, the key): Basic user, or a write key as Bearer."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() == "basic" and token:
        try:
            user = base64.b64decode(token, validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized("the Basic credentials are not valid base64") from None
        return True, user.strip()
    if scheme.lower() == "bearer" and token.startswith(sources.WRITE_KEY.prefix):
        return True, token
    # Any other Bearer token (an OAuth access token, as Segment's docs show) travels with
    # writeKey in the body, which is what authenticates here.
    return False, None


def _prepare(
    kind: str, body: dict[str, Any], header: tuple[bool, str | None]
) -> tuple[str | None, service.Prepared]:
    """The write key and the prepared messages: everything that needs no database."""
    received_at = utcnow()
    messages = read_request(body, kind=kind, received_at=received_at)
    named, key = header
    if not named:
        key = body.get("writeKey") if isinstance(body.get("writeKey"), str) else None
    dialect = get_engine().dialect.name
    return key, service.prepare(messages, received_at=received_at, dialect=dialect)


def writer_of(app: Any) -> Writer:
    """The app's event writer; made here when the app runs without its lifespan."""
    with _writers:
        writer = getattr(app.state, "event_writer", None)
        if writer is None or writer.closing:
            writer = app.state.event_writer = Writer()
        return writer


@asynccontextmanager
async def event_writer(app: Any) -> AsyncIterator[None]:
    """Lifespan: a writer while the app serves; at shutdown, what is queued is written.

    An app served more than once at a time (as tests do) keeps the first one's writer.
    """
    with _writers:
        writer = None
        if getattr(app.state, "event_writer", None) is None:
            writer = app.state.event_writer = Writer()
    try:
        yield
    finally:
        if writer is not None:
            with _writers:
                if app.state.event_writer is writer:
                    app.state.event_writer = None
            await asyncio.to_thread(writer.stop)


async def _handle(kind: str, request: Request) -> JSONResponse:
    try:
        limit = MAX_BATCH_BYTES if kind == "batch" else MAX_EVENT_BYTES
        raw = await _read(request, limit)
        body = decode_body(raw, encoding=request.headers.get("content-encoding"), limit=limit)
        key, prepared = await run_in_threadpool(_prepare, kind, body, _header_key(request))
        await writer_of(request.app).write(key, prepared)
    except BadRequest as error:
        return _error(400, error.code, error.message)
    except Unauthorized as error:
        return _error(401, "unauthorized", error.message)
    except Unavailable as error:
        return _error(503, "unavailable", error.message)
    except SiyuError as error:
        return _error(400 if error.status < 500 else error.status, "invalid_event", error.message)
    except Exception:
        log.exception("event intake failed")
        return _error(500, "server_error", "something went wrong on our side; send it again")
    return JSONResponse(OK)


def _endpoint(kind: str) -> Any:
    async def endpoint(request: Request) -> Response:
        return with_cors(await _handle(kind, request))

    endpoint.__name__ = f"v1_{kind}"
    endpoint.__doc__ = f'Segment-compatible `{kind}` call; answers 200 {{"success": true}}.'
    return endpoint


for _kind in KINDS:
    router.add_api_route(f"/v1/{_kind}", _endpoint(_kind), methods=["POST"])


@router.api_route(
    "/v1/{rest:path}",
    methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    include_in_schema=False,
)
async def v1_other(rest: str, request: Request) -> Response:
    # Browsers ask before a cross-origin POST with a JSON body or an Authorization header.
    if request.method == "OPTIONS" and rest in KINDS:
        return preflight()
    # Keep /v1 answering in its own shape, never the console's pages or /api's problems.
    if rest in KINDS:
        return with_cors(_error(405, "method_not_allowed", f"/v1/{rest} takes POST"))
    return with_cors(_error(404, "not_found", f"no endpoint /v1/{rest}"))


class SourceIn(BaseModel):
    name: str = Field(min_length=1, max_length=120)


@admin_router.get("", summary="List event sources (never their write keys)")
def list_sources(session: DbSession, actor: Admin) -> list[dict[str, Any]]:
    return [sources.source_dict(s) for s in sources.list_sources(session, actor=actor)]


@admin_router.post("", status_code=201, summary="Create an event source; its write key, once")
def create_source(body: SourceIn, session: DbSession, actor: Admin) -> dict[str, Any]:
    source, key = sources.create_source(session, name=body.name, actor=actor)
    return {**sources.source_dict(source), "write_key": key}


@admin_router.post("/{ref}/revoke", summary="Revoke an event source's write key")
def revoke_source(ref: str, session: DbSession, actor: Admin) -> dict[str, Any]:
    return sources.source_dict(sources.revoke_source(session, ref=ref, actor=actor))
