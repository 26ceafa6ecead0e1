"""GET, POST and DELETE /api/v1/suppressions: the addresses nothing is sent to."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import Field

from siyu.api.deps import DbSession, Reader, Writer
from siyu.api.schemas import Body
from siyu.contacts.schemas import PageOut
from siyu.engage import suppressions

router = APIRouter(tags=["suppressions"])
KIND = "email, phone, wechat_openid or wecom_external_userid; guessed from the address if left out"


class SuppressionIn(Body):
    address: str = Field(max_length=255, description="An e-mail address, a phone number, an id")
    kind: str | None = Field(default=None, description=KIND)
    reason: str = Field(default="", max_length=2000, description="Why, e.g. hard bounce")


@router.get("/suppressions", response_model=PageOut)
def list_suppressions(
    session: DbSession,
    actor: Reader,
    kind: str | None = Query(None, description="Only this address kind"),
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> Any:
    """Newest first."""
    page = suppressions.list_suppressions(
        session, actor=actor, kind=kind, limit=limit, cursor=cursor
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/suppressions", status_code=201)
def add_suppression(body: SuppressionIn, session: DbSession, actor: Writer) -> Any:
    """201 with the entry when it is new; 200 with the existing entry when it was listed."""
    row, created = suppressions.add(
        session,
        address=body.address,
        kind=body.kind,
        reason=body.reason,
        source="api",
        actor=actor,
    )
    return row if created else JSONResponse(row, status_code=200)


@router.delete("/suppressions", status_code=204)
def remove_suppression(
    session: DbSession,
    actor: Writer,
    address: str = Query(..., description="The address to send to again"),
    kind: str | None = Query(None, description=KIND),
) -> Response:
    suppressions.remove(session, address=address, kind=kind, actor=actor)
    return Response(status_code=204)
