"""REST routes for lifetime value: queue a fit, read the last one, check it, one buyer's."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from siyu.analytics.clv import service
from siyu.analytics.clv.holdout import holdout
from siyu.api.deps import DbSession, Reader, Writer
from siyu.contacts.api import Ref

router = APIRouter(tags=["lifetime value"])


class FitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    until: date | None = None
    unit: Literal["day", "week"] | None = None


@router.post("/clv/fit", status_code=202, summary="Queue a lifetime value fit for the worker")
def queue_fit(session: DbSession, actor: Writer, body: FitIn | None = None) -> dict[str, Any]:
    """Fits on the orders up to `until` (default: the day it runs), scores every buyer and
    replaces the stored predictions; poll `GET /clv` for the result."""
    body = body or FitIn()
    return service.request_fit(session, actor=actor, until=body.until, unit=body.unit)


@router.get("/clv", summary="The last lifetime value fit: its estimates and figures")
def get_last_fit(session: DbSession, actor: Reader) -> dict[str, Any]:
    """`fit` is null until the first fit."""
    return {"fit": service.last_fit(session, actor=actor)}


@router.get(
    "/clv/holdout",
    summary="Predicted against actual purchases after a calibration end, per frequency",
)
def get_holdout(
    session: DbSession,
    actor: Reader,
    until: date | None = Query(None, description="Calibration end (default: halfway)"),
    holdout_end: date | None = Query(None, description="End of the holdout (default: today)"),
    unit: Literal["day", "week"] | None = None,
) -> dict[str, Any]:
    return holdout(session, actor=actor, until=until, holdout_end=holdout_end, unit=unit)


@router.get("/contacts/{ref}/clv", summary="One buyer's predictions from the last fit")
def get_contact_clv(ref: Ref, session: DbSession, actor: Reader) -> dict[str, Any]:
    """404 when the contact was not a buyer at the last fit (or there was none)."""
    return service.prediction_for(session, actor=actor, ref=ref)
