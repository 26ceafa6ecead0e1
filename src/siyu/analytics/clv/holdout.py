"""Calibration against holdout: did the fit predict what buyers then did?

Fit on the purchases up to a calibration end, predict each buyer's purchases in the holdout
period that follows, and compare with the purchase days they actually had there, averaged over
the buyers of each calibration frequency 0, 1, …, 7+ (Fader, Hardie & Lee 2005, figure 4).
Nothing is stored: the check refits on the calibration part alone.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.analytics.clv import bgnbd
from siyu.analytics.clv.service import check_unit, estimates, fit_models, today
from siyu.analytics.clv.summary import UNIT_DAYS, extract, purchase_days
from siyu.config import get_settings
from siyu.contacts.models import Contact
from siyu.errors import Invalid
from siyu.kit.actor import Actor
from siyu.staff.permissions import allow

TOP = 7  # the last group is "7+"


def default_until(session: Session, holdout_end: date) -> date | None:
    """Halfway between the first purchase and the holdout end, as CDNOW's 39 of 78 weeks."""
    first = session.execute(select(func.min(Contact.first_order_at))).scalar()
    if first is None:
        return None
    start = first.astimezone(get_settings().zone).date()
    return start + (holdout_end - start) / 2


def holdout(
    session: Session,
    *,
    actor: Actor,
    until: date | None = None,
    holdout_end: date | None = None,
    unit: str | None = None,
) -> dict[str, Any]:
    """Predicted against actual holdout purchases per calibration frequency."""
    allow(actor, "read")
    unit = check_unit(unit)
    holdout_end = holdout_end or today()
    until = until or default_until(session, holdout_end)
    if until is None:
        raise Invalid("no purchase recorded: nothing to check")
    if until >= holdout_end:
        raise Invalid(f"the calibration end {until} must be before the holdout end {holdout_end}")
    summary = extract(session, until=until, unit=unit)
    purchases, spend = fit_models(summary)
    length = (holdout_end - until).days / UNIT_DAYS[unit]
    predicted = bgnbd.expected_purchases(purchases, summary.x, summary.t_x, summary.T, length)[:, 0]
    actual = purchase_days(
        session, after=until, until=holdout_end, contact_id=summary.contact_id
    ).astype(float)
    group = np.minimum(summary.x, TOP)
    rows = []
    for frequency in range(TOP + 1):
        members = group == frequency
        count = int(members.sum())
        rows.append(
            {
                "frequency": f"{TOP}+" if frequency == TOP else str(frequency),
                "customers": count,
                "actual": round(float(actual[members].mean()), 4) if count else None,
                "predicted": round(float(predicted[members].mean()), 4) if count else None,
            }
        )
    return {
        "calibration_end": until.isoformat(),
        "holdout_end": holdout_end.isoformat(),
        "unit": unit,
        "holdout_length": round(length, 4),
        "customers": summary.customers,
        "repeat_buyers": summary.repeat_buyers,
        "actual_total": int(actual.sum()),
        "predicted_total": round(float(predicted.sum()), 2),
        "rows": rows,
        **estimates(purchases, spend),
    }
