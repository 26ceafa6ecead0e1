"""REST routes for reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter

from siyu.analytics import rfm
from siyu.analytics.funnel import funnel
from siyu.analytics.overview import overview
from siyu.api.deps import DbSession, Reader, Writer

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


@router.get(
    "/reports/rfm",
    summary="RFM: the recency × frequency grid and the named segments, as last computed",
)
def get_rfm(session: DbSession, actor: Reader) -> dict[str, Any]:
    """`computed_at` is null until the scores have been worked out once."""
    return rfm.report(session, actor=actor)


@router.post("/reports/rfm/refresh", summary="Work out every buyer's RFM scores again, now")
def refresh_rfm(session: DbSession, actor: Writer) -> dict[str, Any]:
    """Replaces the stored scores; returns how many buyers were scored, then the report."""
    return {"refresh": rfm.refresh_for(session, actor=actor), **rfm.report(session, actor=actor)}
