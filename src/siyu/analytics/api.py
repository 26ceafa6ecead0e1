"""REST routes for reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter

from siyu.analytics.funnel import funnel
from siyu.analytics.overview import overview
from siyu.api.deps import DbSession, Reader

router = APIRouter(tags=["reports"])


@router.get("/reports/overview", summary="The pool at a glance (the console's home figures)")
def get_overview(session: DbSession, actor: Reader) -> dict[str, Any]:
    return overview(session, actor=actor)


@router.get(
    "/reports/funnel",
    summary="Lead to deal: visitors → leads → first order → repeat order, per source",
)
def get_funnel(session: DbSession, actor: Reader, since: datetime | None = None) -> dict[str, Any]:
    """`since` (ISO 8601) keeps the contacts first recorded at or after it."""
    return funnel(session, actor=actor, since=since)
