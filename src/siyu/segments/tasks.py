"""Segment jobs: the clock sweep, a refresh on demand, and re-evaluating changed contacts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from siyu.db.types import utcnow
from siyu.segments import membership
from siyu.segments.service import get_segment
from siyu.worker.models import Job
from siyu.worker.runner import handler, poller
from siyu.worker.scheduler import every

SWEEP_JOB = "segments.sweep"
REFRESH_JOB = "segments.refresh"
# Conditions such as "within: 90d" move a little every minute; a quarter of an hour keeps
# them current enough for daily marketing without rereading the pool all the time.
SWEEP_EVERY = timedelta(minutes=15)


@handler(SWEEP_JOB)
def run_sweep(session: Session, job: Job, engine: Engine) -> dict[str, Any]:
    return {"changes": membership.sweep(session, now=utcnow())}


@handler(REFRESH_JOB)
def run_refresh(session: Session, job: Job, engine: Engine) -> dict[str, Any]:
    segment = get_segment(session, job.payload["segment_id"])
    change = membership.refresh(session, segment=segment, now=utcnow(), fire=True)
    return {"entered": len(change.entered), "exited": len(change.exited)}


@poller("segments.pending")
def take_pending(session: Session) -> int:
    return membership.process_pending(session, now=utcnow())


every(SWEEP_JOB, SWEEP_EVERY)
