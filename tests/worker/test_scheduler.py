"""Periodic jobs are enqueued once per interval, never while one is waiting or running."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.worker import scheduler
from siyu.worker.models import Job

NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)


def kinds(session: Session) -> list[str]:
    return list(session.scalars(select(Job.kind).order_by(Job.id)))


def test_due_jobs_are_enqueued_once_per_interval(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduler, "PERIODIC", {"test.hourly": timedelta(hours=1)})
    assert scheduler.enqueue_due(session, now=NOW) == ["test.hourly"]
    # Waiting: not again, however late it gets.
    assert scheduler.enqueue_due(session, now=NOW + timedelta(hours=5)) == []
    session.execute(update(Job).values(state="done", created_at=NOW))
    assert scheduler.enqueue_due(session, now=NOW + timedelta(minutes=59)) == []
    assert scheduler.enqueue_due(session, now=NOW + timedelta(minutes=61)) == ["test.hourly"]
    assert kinds(session) == ["test.hourly", "test.hourly"]


def test_segments_register_their_sweep() -> None:
    import siyu.segments.tasks  # noqa: F401

    assert scheduler.PERIODIC["segments.sweep"] == timedelta(minutes=15)
