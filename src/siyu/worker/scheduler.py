"""Periodic jobs (the segment sweep, model refits): enqueued when due, as ordinary job rows.

A periodic kind is due when no job of it is waiting or running and the last one was enqueued
longer ago than its interval. Any number of workers may tick: on PostgreSQL a transaction
lock lets one of them at a time decide, so a due job is enqueued once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, case, func, select, text
from sqlalchemy.orm import Session

from siyu.db.session import session_factory, writing
from siyu.db.types import utcnow
from siyu.worker.models import Job
from siyu.worker.queue import enqueue

PERIODIC: dict[str, timedelta] = {}
# pg_advisory_xact_lock key for deciding what is due ("schd").
LOCK_KEY = 0x73636864


def every(kind: str, interval: timedelta) -> None:
    """Run jobs of `kind` (a registered handler) once per `interval`."""
    PERIODIC[kind] = interval


def enqueue_due(session: Session, *, now: datetime | None = None) -> list[str]:
    """Enqueue every periodic job that is due; returns their kinds."""
    if not PERIODIC:
        return []
    now = now or utcnow()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    waiting = func.sum(case((Job.state.in_(("queued", "running")), 1), else_=0))
    rows = session.execute(
        select(Job.kind, func.max(Job.created_at), waiting)
        .where(Job.kind.in_(sorted(PERIODIC)))
        .group_by(Job.kind)
    ).all()
    seen = {kind: (last, busy or 0) for kind, last, busy in rows}
    due = []
    for kind, interval in sorted(PERIODIC.items()):
        last, busy = seen.get(kind, (None, 0))
        if busy or (last is not None and last > now - interval):
            continue
        enqueue(
            session, kind=kind, payload={"scheduled_at": now.isoformat()}, created_by="scheduler"
        )
        due.append(kind)
    return due


def tick(engine: Engine) -> list[str]:
    # It reads which jobs are due, then writes them: on SQLite the transaction takes the write
    # lock as it begins, or a commit by the senders in between fails it at once (SQLite does
    # not wait when a reader's snapshot is stale).
    make = session_factory(writing(engine))
    with make() as session, session.begin():
        return enqueue_due(session)
