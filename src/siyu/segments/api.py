"""REST routes for segments; thin: parse, call the service, shape the answer."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from siyu.api.deps import DbSession, Reader, Writer
from siyu.errors import Invalid
from siyu.segments import export as exporting
from siyu.segments import service
from siyu.segments.language import check, parse, to_text
from siyu.segments.schemas import ConvertIn, MembersChange, QueryIn, SegmentCreate, SegmentUpdate
from siyu.staff.permissions import allow

router = APIRouter(tags=["segments"])


@router.post("/segments/count", summary="Count (and sample) the contacts a query matches now")
def count(body: QueryIn, session: DbSession, actor: Reader) -> dict[str, Any]:
    return service.count(
        session, actor=actor, query=body.query, definition=body.definition, sample=body.sample
    )


@router.post("/segments/convert", summary="A query as text and as JSON, either given")
def convert(body: ConvertIn, actor: Reader) -> dict[str, Any]:
    if (body.query is None) == (body.definition is None):
        raise Invalid("give exactly one of query and definition")
    node = parse(body.query) if body.query is not None else check(body.definition)
    return {"query": to_text(node), "definition": node}


@router.get("/segments")
def list_segments(session: DbSession, actor: Reader) -> list[dict[str, Any]]:
    return [service.describe(session, s) for s in service.list_segments(session, actor=actor)]


@router.post("/segments", status_code=201)
def create_segment(body: SegmentCreate, session: DbSession, actor: Writer) -> dict[str, Any]:
    segment = service.create_segment(session, actor=actor, **body.model_dump())
    return service.describe(session, segment)


@router.get("/segments/{ref}")
def get_segment(ref: str, session: DbSession, actor: Reader) -> dict[str, Any]:
    allow(actor, "read")
    return service.describe(session, service.get_segment(session, ref))


@router.patch("/segments/{ref}")
def update_segment(
    ref: str, body: SegmentUpdate, session: DbSession, actor: Writer
) -> dict[str, Any]:
    segment = service.get_segment(session, ref)
    service.update_segment(
        session, actor=actor, segment=segment, **body.model_dump(exclude_unset=True)
    )
    return service.describe(session, segment)


@router.delete("/segments/{ref}", status_code=204)
def delete_segment(ref: str, session: DbSession, actor: Writer) -> Response:
    service.delete_segment(session, actor=actor, segment=service.get_segment(session, ref))
    return Response(status_code=204)


@router.get("/segments/{ref}/members")
def members(
    ref: str,
    session: DbSession,
    actor: Reader,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> dict[str, Any]:
    segment = service.get_segment(session, ref)
    items, following = service.members_page(
        session, actor=actor, segment=segment, cursor=cursor, limit=limit
    )
    return {"items": items, "next_cursor": following}


@router.post("/segments/{ref}/members", summary="Add or remove members of a static list")
def change_members(
    ref: str, body: MembersChange, session: DbSession, actor: Writer
) -> dict[str, Any]:
    segment = service.get_segment(session, ref)
    change = service.change_members(
        session, actor=actor, segment=segment, add=body.add, remove=body.remove
    )
    return {
        "added": len(change.entered),
        "removed": len(change.exited),
        "member_count": segment.member_count,
    }


@router.post("/segments/{ref}/refresh", summary="Recompute a segment from the whole pool now")
def refresh(ref: str, session: DbSession, actor: Writer) -> dict[str, Any]:
    segment = service.get_segment(session, ref)
    change = service.refresh_now(session, actor=actor, segment=segment)
    return {
        "entered": len(change.entered),
        "exited": len(change.exited),
        "member_count": segment.member_count,
    }


@router.get("/segments/{ref}/history", summary="Who was in the segment when")
def history(
    ref: str,
    session: DbSession,
    actor: Reader,
    contact_id: int | None = Query(None, ge=1, lt=2**63),
    limit: int = Query(100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    segment = service.get_segment(session, ref)
    return service.history(
        session, actor=actor, segment=segment, contact_id=contact_id, limit=limit
    )


@router.get("/segments/{ref}/export", summary="Members as the canonical contact CSV or JSONL")
def export_members(
    ref: str,
    session: DbSession,
    actor: Writer,
    format: Literal["csv", "jsonl"] = "csv",
) -> StreamingResponse:
    # A write key: an export carries every member's phone and e-mail.
    allow(actor, "edit")
    segment = service.get_segment(session, ref)
    spool = exporting.spooled(session, segment, format)
    filename = f"segment-{segment.id}.{format}"
    return StreamingResponse(
        exporting.chunks(spool),
        media_type=exporting.MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
