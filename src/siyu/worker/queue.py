"""Enqueuing and claiming jobs. Claims use FOR UPDATE SKIP LOCKED on PostgreSQL, so any number
of workers can share the table; SQLite has one writer at a time, so a plain update suffices."""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.db.types import utcnow
from siyu.errors import NotFound
from siyu.worker.models import Job

WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"
# A job claimed longer ago than this by a worker that stopped is offered again.
STALE_AFTER = timedelta(hours=2)


def enqueue(session: Session, *, kind: str, payload: dict[str, Any], created_by: str) -> Job:
    """Write a job in the caller's transaction (outbox): it exists exactly if the change does."""
    job = Job(kind=kind, payload=payload, created_by=created_by)
    session.add(job)
    session.flush()
    return job


def claim(session: Session, kinds: list[str] | None = None) -> Job | None:
    now = utcnow()
    query = (
        select(Job)
        .where(
            ((Job.state == "queued") & (Job.run_after <= now))
            | ((Job.state == "running") & (Job.claimed_at < now - STALE_AFTER))
        )
        .order_by(Job.id)
        .limit(1)
    )
    if kinds:
        query = query.where(Job.kind.in_(kinds))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    job = session.execute(query).scalar_one_or_none()
    if job is None:
        return None
    claimed = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.state == job.state, Job.attempts == job.attempts)
        .values(state="running", claimed_by=WORKER_NAME, claimed_at=now, attempts=job.attempts + 1)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return None
    session.refresh(job)
    return job


def get_job(session: Session, job_id: int, kind: str | None = None) -> Job:
    job = session.get(Job, job_id)
    if job is None or (kind and job.kind != kind):
        raise NotFound(f"no job with id {job_id}")
    return job
