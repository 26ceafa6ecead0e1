"""Errors as application/problem+json (RFC 9457); never a 500 for bad input."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from siyu.errors import SiyuError

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _field(error: dict[str, Any]) -> str:
    """Where the error is: `name`, `tags.0` in the body; `query.limit`, `path.order_id` else.

    Only the leading "body" is dropped, so a field that is itself called `body` keeps its name.
    """
    parts = [str(p) for p in error["loc"]]
    if error["type"] == "json_invalid" or not parts[1:]:
        return parts[0] if parts else "body"
    return ".".join(parts[1:] if parts[0] == "body" else parts)


def _message(error: dict[str, Any]) -> str:
    if error["type"] == "json_invalid":
        # The location's last part is a character offset into the body, not a field.
        reason = error.get("ctx", {}).get("error", "")
        return f"malformed JSON at character {error['loc'][-1]}: {reason}".rstrip(": ")
    return str(error["msg"])


def install(app: FastAPI) -> None:
    @app.exception_handler(SiyuError)
    async def siyu_error(_request: Request, error: SiyuError) -> JSONResponse:
        return problem(error.status, error.title, error.message, **error.detail)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(e), "message": _message(e)} for e in error.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, "Invalid input", detail, errors=errors)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, error: HTTPException) -> JSONResponse:
        return problem(error.status_code, str(error.detail), str(error.detail))

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return problem(500, "Internal error", "something went wrong on our side; it was logged")
