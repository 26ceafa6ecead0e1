"""Analytics jobs: the RFM refresh, asked for from the API or console, or run on a schedule."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from siyu.analytics import rfm
from siyu.worker.models import Job
from siyu.worker.runner import handler
from siyu.worker.scheduler import every

RFM_REFRESH_JOB = "analytics.rfm_refresh"


@handler(RFM_REFRESH_JOB)
def run_rfm_refresh(session: Session, job: Job, engine: Engine) -> dict[str, Any]:
    """payload `now` (ISO 8601, optional): score as of that time instead of the job's start."""
    now = job.payload.get("now")
    return rfm.refresh(session, now=datetime.fromisoformat(now) if now else None)


# Scores move slowly and a refresh reads a year of orders: once a day is enough.
every(RFM_REFRESH_JOB, timedelta(days=1))
