"""The lifetime value fit as a job: queued from the API or console, or weekly on schedule."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from siyu.analytics.clv import service
from siyu.errors import Invalid
from siyu.worker.models import Job
from siyu.worker.runner import handler
from siyu.worker.scheduler import every

CLV_FIT_JOB = service.FIT_JOB


@handler(CLV_FIT_JOB)
def run_clv_fit(session: Session, job: Job, engine: Engine) -> dict[str, Any]:
    """payload `until` (a date, optional: today) and `unit` (day or week, optional)."""
    until = job.payload.get("until")
    try:
        result = service.fit(
            session,
            until=date.fromisoformat(until) if until else None,
            unit=job.payload.get("unit"),
        )
    except Invalid as refusal:
        if "scheduled_at" not in job.payload:
            raise
        # A pool without repeat buyers yet is not a failure of the weekly run.
        return {"skipped": refusal.message}
    return {key: result[key] for key in ("fit_id", "customers", "repeat_buyers", "seconds")}


# Buying habits change over months, and a fit reads every order: once a week is enough.
every(CLV_FIT_JOB, timedelta(days=7))
