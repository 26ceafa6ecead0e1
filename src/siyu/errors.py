"""One error hierarchy; the API, console and CLI each render it their own way."""

from __future__ import annotations

from typing import Any


class SiyuError(Exception):
    """An error the user caused or can act on; never shown as a traceback."""

    status = 400
    title = "Bad request"

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class Invalid(SiyuError):
    status = 422
    title = "Invalid input"


class NotFound(SiyuError):
    status = 404
    title = "Not found"


class Conflict(SiyuError):
    status = 409
    title = "Conflict"


class Unauthorized(SiyuError):
    status = 401
    title = "Unauthorized"


class Forbidden(SiyuError):
    status = 403
    title = "Forbidden"
