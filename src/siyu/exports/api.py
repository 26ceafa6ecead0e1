"""REST routes for exports; thin: parse, plan with the service, answer with a download."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from siyu.api.deps import DbSession, Writer
from siyu.exports import service
from siyu.exports.web import export_response

router = APIRouter(tags=["exports"])


@router.get("/exports", summary="The tables this key may export, with their row counts")
def list_tables(session: DbSession, actor: Writer) -> list[dict[str, Any]]:
    return service.list_tables(session, actor=actor)


@router.get(
    "/exports/{table}",
    summary="A table as CSV, JSON Lines or Parquet, streamed",
    response_class=StreamingResponse,
)
def export_table(
    table: str,
    session: DbSession,
    actor: Writer,
    format: str = Query("csv", description="csv, jsonl or parquet"),
    since: str | None = Query(None, description="From this date or time on (SIYU_TIMEZONE)"),
    until: str | None = Query(None, description="Before this date or time (SIYU_TIMEZONE)"),
    segment: str | None = Query(None, description="Only the rows of this segment's members"),
    bom: bool = Query(False, description="CSV: start with a byte-order mark, for Excel"),
) -> StreamingResponse:
    plan = service.plan_export(
        session, actor=actor, table=table, fmt=format, since=since, until=until, segment=segment
    )
    return export_response(session, actor=actor, plan=plan, bom=bom)
