"""Coupon jobs: the hourly sweep that marks codes whose time ran out."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from siyu.growth.coupons import redeeming
from siyu.worker.models import Job
from siyu.worker.runner import handler
from siyu.worker.scheduler import every

EXPIRE_JOB = "coupons.expire"


@handler(EXPIRE_JOB)
def run_expire(session: Session, job: Job, engine: Engine) -> dict[str, Any]:
    """payload `now` (ISO 8601, optional): expire as of that time."""
    now = job.payload.get("now")
    return {"expired": redeeming.expire(session, now=datetime.fromisoformat(now) if now else None)}


# Codes run out by the day; an hour late is soon enough, and redemption checks the time itself.
every(EXPIRE_JOB, timedelta(hours=1))
