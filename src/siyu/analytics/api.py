"""REST routes for reports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from siyu.analytics import reports, rfm, spend
from siyu.analytics.funnel import funnel
from siyu.analytics.overview import overview
from siyu.analytics.scope import Scope, parse_scope
from siyu.api.deps import DbSession, Id, Reader, Writer
from siyu.errors import Invalid

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


# --- what the pool earns -------------------------------------------------------------------

_SCOPE_HELP = (
    "Figures from orders say when the orders were read (`as_of`). Cohorts are picked by the "
    "range (by first purchase) and followed to the data's end. `since` and `until` are "
    "dates or times (a date alone is a whole local day, `until` "
    "included); `platform` may repeat or be comma separated; `segment` is a name or id."
)


def _scope(
    session: DbSession,
    since: str | None = None,
    until: str | None = None,
    platform: list[str] = Query([], description="Only these platforms"),
    segment: str | None = None,
) -> Scope:
    platforms = [p for item in platform for p in item.split(",")]
    return parse_scope(session, since=since, until=until, platforms=platforms, segment=segment)


def _dated_scope(
    session: DbSession,
    since: str | None = None,
    until: str | None = None,
    segment: str | None = None,
) -> Scope:
    return parse_scope(session, since=since, until=until, segment=segment)


# The report's filters from the query string; declared after the key so a missing key is a 401.
ReportScope = Annotated[Scope, Depends(_scope)]
DatedScope = Annotated[Scope, Depends(_dated_scope)]


@router.get(
    "/reports/dashboard",
    summary="Repurchase, order value, gaps, revenue and growth",
    description=_SCOPE_HELP,
)
def get_dashboard(session: DbSession, actor: Reader, scope: ReportScope) -> dict[str, Any]:
    return reports.dashboard(session, actor=actor, scope=scope)


@router.get(
    "/reports/repurchase",
    summary="Repurchase rate per platform and within N days",
    description=_SCOPE_HELP,
)
def get_repurchase(session: DbSession, actor: Reader, scope: ReportScope) -> dict[str, Any]:
    return reports.repurchase(session, actor=actor, scope=scope)


@router.get(
    "/reports/cohorts",
    summary="Monthly acquisition cohorts: retention and revenue",
    description=_SCOPE_HELP,
)
def get_cohorts(session: DbSession, actor: Reader, scope: ReportScope) -> dict[str, Any]:
    return reports.cohorts(session, actor=actor, scope=scope)


@router.get(
    "/reports/acquisition",
    summary="Cost per acquired customer, and of a repeat sale",
    description=_SCOPE_HELP,
)
def get_acquisition(session: DbSession, actor: Reader, scope: DatedScope) -> dict[str, Any]:
    return reports.acquisition(session, actor=actor, scope=scope)


@router.get(
    "/reports/returns",
    summary="Campaigns and journeys: revenue against cost",
    description=_SCOPE_HELP,
)
def get_returns(session: DbSession, actor: Reader, scope: DatedScope) -> dict[str, Any]:
    return reports.returns_report(session, actor=actor, scope=scope)


class SpendIn(BaseModel):
    month: str = Field(description="YYYY-MM", examples=["2026-11"])
    channel: str = Field(description="A contact source, code:CODE, campaign:ID or journey:ID")
    amount: int = Field(ge=0, description="In fen")
    note: str = ""


@router.get("/spend", summary="Marketing spend entered, newest month first")
def get_spend(
    session: DbSession, actor: Reader, since: str | None = None, until: str | None = None
) -> list[dict[str, Any]]:
    """`since` and `until` are months (YYYY-MM), both included."""
    return spend.list_spend(session, actor=actor, since=since, until=until)


@router.post("/spend", summary="Enter a month's spend on a channel (replaces the same one)")
def post_spend(session: DbSession, actor: Writer, body: SpendIn) -> dict[str, Any]:
    entry = spend.set_spend(
        session,
        actor=actor,
        month=body.month,
        channel=body.channel,
        amount=body.amount,
        note=body.note,
    )
    return spend.spend_dict(entry)


@router.post(
    "/spend/import",
    summary="Enter spend from CSV (month,channel,amount in yuan[,note])",
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_spend(request: Request, session: DbSession, actor: Writer) -> dict[str, Any]:
    """Every valid line is saved; each bad one comes back in `problems` with its line."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("the CSV must be UTF-8") from None
    result = spend.import_csv(session, actor=actor, text=text, where="CSV")
    return {"saved": result.saved, "problems": result.problems}


@router.delete("/spend/{spend_id}", summary="Remove a spend entry", status_code=204)
def delete_spend(session: DbSession, actor: Writer, spend_id: Id) -> None:
    spend.delete_spend(session, actor=actor, spend_id=spend_id)
