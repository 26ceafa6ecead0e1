"""Contact jobs: the lifecycle sweep that moves buyers whom time has moved (at risk, churned)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from siyu.contacts import lifecycle
from siyu.worker.models import Job
from siyu.worker.runner import handler
from siyu.worker.scheduler import every

LIFECYCLE_SWEEP_JOB = "contacts.lifecycle_sweep"


@handler(LIFECYCLE_SWEEP_JOB)
def run_lifecycle_sweep(session: Session, job: Job, engine: Engine) -> dict[str, Any]:
    """payload `now` (ISO 8601, optional): sweep as of that time instead of the job's start."""
    now = job.payload.get("now")
    moved = lifecycle.sweep(session, now=datetime.fromisoformat(now) if now else None)
    return {"moved": moved}


# Going at risk or churned is a matter of days: an hourly look is prompt enough.
every(LIFECYCLE_SWEEP_JOB, timedelta(hours=1))
