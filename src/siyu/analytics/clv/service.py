"""Fit, score and store lifetime value; read the last fit and one buyer's predictions.

A fit reads the purchases placed up to a calibration end, fits BG/NBD on every buyer and
Gamma-Gamma on the repeat buyers, scores every buyer and replaces the stored predictions in the
caller's transaction (readers see the old set until it commits), recording the fit itself.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from siyu.analytics.clv import bgnbd, gamma_gamma
from siyu.analytics.clv.models import ClvFit, ClvPrediction
from siyu.analytics.clv.scoring import score
from siyu.analytics.clv.summary import UNIT_DAYS, Summary, extract
from siyu.config import get_settings
from siyu.contacts import service as contacts_service
from siyu.db.bulk import insert_tuples, time_storage
from siyu.db.types import utcnow
from siyu.errors import Invalid, NotFound
from siyu.kit.actor import Actor
from siyu.kit.timeutil import isoformat
from siyu.segments import membership
from siyu.staff.permissions import allow

UNITS = tuple(UNIT_DAYS)
FIT_JOB = "analytics.clv_fit"
_COLUMNS = (
    "contact_id",
    "fit_id",
    "frequency",
    "recency",
    "age",
    "monetary",
    "expected_purchases",
    "p_alive",
    "expected_spend",
    "clv",
    "fitted_at",
)


def check_unit(unit: str | None) -> str:
    unit = unit or get_settings().clv_unit
    if unit not in UNITS:
        raise Invalid(f"unknown unit {unit!r}: use day or week")
    return unit


def today() -> date:
    return datetime.now(get_settings().zone).date()


def check_until(until: date | None) -> date:
    until = until or today()
    if until > today():
        raise Invalid(f"the calibration end {until} is in the future")
    return until


def fit_models(summary: Summary) -> tuple[bgnbd.BgNbd, gamma_gamma.GammaGamma]:
    """Both models on one summary, refusing data they cannot be fitted on."""
    end = summary.calibration_end
    if summary.customers == 0:
        raise Invalid(f"no purchase placed on or before {end}: nothing to fit")
    if summary.repeat_buyers == 0:
        raise Invalid(
            f"none of the {summary.customers} buyers bought again by {end}: the models "
            "need repeat purchases to fit"
        )
    purchases = bgnbd.fit(summary.x, summary.t_x, summary.T)
    # Spend in yuan (see gamma_gamma): the published CDNOW estimates are in dollars.
    spend = gamma_gamma.fit(summary.x, summary.monetary / 100.0)
    return purchases, spend


def estimates(purchases: bgnbd.BgNbd, spend: gamma_gamma.GammaGamma) -> dict[str, Any]:
    return {
        "bgnbd": {
            "r": round(purchases.r, 6),
            "alpha": round(purchases.alpha, 6),
            "a": round(purchases.a, 6),
            "b": round(purchases.b, 6),
            "log_likelihood": round(purchases.log_likelihood, 4),
        },
        "gamma_gamma": {
            "p": round(spend.p, 6),
            "q": round(spend.q, 6),
            "gamma": round(spend.gamma, 6),
            "log_likelihood": round(spend.log_likelihood, 4),
        },
    }


def fit(
    session: Session,
    *,
    until: date | None = None,
    unit: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Fit on the purchases up to `until` (a local date, today by default), score every buyer
    and replace the stored predictions; what was fitted, with the time each step took."""
    settings = get_settings()
    unit, until = check_unit(unit), check_until(until)
    started, clock = now or utcnow(), time.perf_counter()
    summary = extract(session, until=until, unit=unit)
    extracted = time.perf_counter()
    purchases, spend = fit_models(summary)
    fitted = time.perf_counter()
    scores = score(
        summary,
        purchases,
        spend,
        horizon_days=settings.clv_horizon_days,
        months=settings.clv_months,
        monthly_discount=settings.clv_monthly_discount,
    )
    scored = time.perf_counter()
    figures = estimates(purchases, spend)
    record = ClvFit(
        unit=unit,
        calibration_end=until,
        horizon_days=settings.clv_horizon_days,
        months=settings.clv_months,
        monthly_discount=settings.clv_monthly_discount,
        customers=summary.customers,
        repeat_buyers=summary.repeat_buyers,
        started_at=started,
        finished_at=started,
        seconds=0.0,
        **figures,
    )
    session.add(record)
    session.flush()
    store(session, summary=summary, scores=scores, fit_id=record.id, fitted_at=started)
    stored = time.perf_counter()
    record.seconds = round(stored - clock, 3)
    record.finished_at = utcnow() if now is None else now
    session.flush()
    # Every prediction may have moved: segments that read them are refreshed whole.
    membership.refresh_reading(session, "clv.", now=record.finished_at)
    return {
        "customers": summary.customers,
        "repeat_buyers": summary.repeat_buyers,
        "unit": unit,
        "seconds": record.seconds,
        **figures,
        "fit_id": record.id,
        "calibration_end": until.isoformat(),
        "steps": {
            "summary_s": round(extracted - clock, 3),
            "fit_s": round(fitted - extracted, 3),
            "score_s": round(scored - fitted, 3),
            "store_s": round(stored - scored, 3),
        },
    }


def store(
    session: Session, *, summary: Summary, scores: Any, fit_id: int, fitted_at: datetime
) -> None:
    """Replace every stored prediction with these, in bulk."""
    session.execute(delete(ClvPrediction))
    at = time_storage(session)(fitted_at)
    count = summary.customers
    columns = (
        summary.contact_id.tolist(),
        [fit_id] * count,
        summary.x.tolist(),
        np.round(summary.t_x, 6).tolist(),
        np.round(summary.T, 6).tolist(),
        np.rint(summary.monetary).astype(np.int64).tolist(),
        np.round(scores.expected_purchases, 6).tolist(),
        np.round(scores.p_alive, 6).tolist(),
        np.rint(scores.expected_spend).astype(np.int64).tolist(),
        np.rint(scores.clv).astype(np.int64).tolist(),
        [at] * count,
    )
    insert_tuples(session, ClvPrediction.__table__, _COLUMNS, list(zip(*columns, strict=True)))


def fit_for(
    session: Session, *, actor: Actor, until: date | None = None, unit: str | None = None
) -> dict[str, Any]:
    """`fit` asked for by someone: operators and admins may (it rewrites every prediction)."""
    allow(actor, "edit")
    return fit(session, until=until, unit=unit)


def request_fit(
    session: Session, *, actor: Actor, until: date | None = None, unit: str | None = None
) -> dict[str, Any]:
    """Queue a fit for the worker; the arguments are checked now, not when it runs."""
    from siyu.worker.queue import enqueue

    allow(actor, "edit")
    payload = {"unit": check_unit(unit)}
    if until is not None:
        payload["until"] = check_until(until).isoformat()
    job = enqueue(session, kind=FIT_JOB, payload=payload, created_by=actor.label)
    return {"job_id": job.id, "kind": FIT_JOB, "state": job.state, **payload}


def _fit_dict(record: ClvFit) -> dict[str, Any]:
    return {
        "id": record.id,
        "customers": record.customers,
        "repeat_buyers": record.repeat_buyers,
        "unit": record.unit,
        "calibration_end": record.calibration_end.isoformat(),
        "horizon_days": record.horizon_days,
        "months": record.months,
        "monthly_discount": record.monthly_discount,
        "bgnbd": record.bgnbd,
        "gamma_gamma": record.gamma_gamma,
        "started_at": isoformat(record.started_at),
        "finished_at": isoformat(record.finished_at),
        "seconds": record.seconds,
    }


def last_fit(session: Session, *, actor: Actor) -> dict[str, Any] | None:
    """The newest fit, or None before the first."""
    allow(actor, "read")
    record = session.execute(
        select(ClvFit).order_by(ClvFit.finished_at.desc(), ClvFit.id.desc()).limit(1)
    ).scalar_one_or_none()
    return None if record is None else _fit_dict(record)


def prediction_of(session: Session, contact_id: int) -> dict[str, Any] | None:
    """One buyer's stored predictions, or None (not a buyer at the last fit, or never fitted)."""
    row = session.get(ClvPrediction, contact_id)
    if row is None:
        return None
    record = session.get(ClvFit, row.fit_id)
    return {
        "contact_id": row.contact_id,
        "frequency": row.frequency,
        "recency": row.recency,
        "age": row.age,
        "unit": record.unit if record else None,
        "monetary": row.monetary,
        "expected_purchases": row.expected_purchases,
        "horizon_days": record.horizon_days if record else None,
        "p_alive": row.p_alive,
        "expected_spend": row.expected_spend,
        "clv": row.clv,
        "months": record.months if record else None,
        "fitted_at": isoformat(row.fitted_at),
    }


def prediction_for(session: Session, *, actor: Actor, ref: str) -> dict[str, Any]:
    """The predictions of the contact `ref` names, if the actor may see that contact."""
    contact = contacts_service.get_by_ref(session, ref, actor=actor)
    found = prediction_of(session, contact.id)
    if found is None:
        raise NotFound(
            f"no lifetime value for contact {contact.id}: not a buyer at the last fit, "
            "or never fitted (siyu clv fit)"
        )
    return found
