"""GET /api/v1/audit: the audit log, for administrators' keys (the console's /audit page twin)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query

from siyu.api.deps import Admin, DbSession
from siyu.audit import service
from siyu.kit.timeutil import as_utc

router = APIRouter(tags=["audit"])


@router.get("/audit")
def list_events(
    session: DbSession,
    viewer: Admin,
    actor: str | None = Query(None, description='Who acted: "staff:<login>", "apikey:<id>", "cli"'),
    action: str | None = Query(None, description='e.g. "staff.disable", or "contact.*"'),
    subject_type: str | None = Query(None, description="contact, staff, api_key, ingest_batch"),
    subject_id: str | None = Query(None, description="Needs subject_type"),
    since: datetime | None = Query(None, description="From this time on (no zone: SIYU_TIMEZONE)"),
    until: datetime | None = Query(None, description="Before this time (no zone: SIYU_TIMEZONE)"),
    limit: int = Query(50, ge=1, le=service.MAX_LIMIT),
    cursor: str | None = None,
) -> dict[str, Any]:
    """Audit events, newest first, a page at a time (pass `next_cursor` as `cursor`)."""
    page = service.list_events(
        session,
        viewer=viewer,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        since=as_utc(since) if since else None,
        until=as_utc(until) if until else None,
        limit=limit,
        cursor=cursor,
    )
    return {"items": [service.event_dict(e) for e in page.events], "next_cursor": page.next_cursor}
