"""The job worker: a collision with another writer sends the job back to the queue, a few
times, then fails it with a message that says what to do."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from siyu.db.session import get_engine, unit_of_work
from siyu.worker import runner
from siyu.worker.models import Job
from siyu.worker.queue import enqueue


def test_worker_requeues_a_collision_then_gives_up(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def always_colliding(*_args: Any) -> dict[str, Any]:
        raise IntegrityError("INSERT …", {}, Exception("duplicate key"))

    monkeypatch.setitem(runner.HANDLERS, "test.collide", always_colliding)
    monkeypatch.setattr(runner, "_load_handlers", lambda: None)
    retry = runner._retry_later
    monkeypatch.setattr(runner, "_retry_later", lambda engine, job_id: retry(engine, job_id, 0))
    with unit_of_work() as session:
        job_id = enqueue(session, kind="test.collide", payload={}, created_by="test").id
    states = []
    for _ in range(runner.MAX_ATTEMPTS):
        assert runner.run_once(get_engine())
        with unit_of_work() as session:
            states.append(session.execute(select(Job.state).where(Job.id == job_id)).scalar())
    assert states == ["queued"] * (runner.MAX_ATTEMPTS - 1) + ["failed"]


def test_a_transient_database_error_is_retried_with_growing_waits(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    def busy(*_args: Any) -> dict[str, Any]:
        raise OperationalError("UPDATE …", {}, Exception("database is locked"))

    monkeypatch.setitem(runner.HANDLERS, "test.busy", busy)
    monkeypatch.setattr(runner, "_load_handlers", lambda: None)
    waits: list[float] = []
    retry = runner._retry_later

    def record(engine: Any, job_id: int, seconds: float = 2.0) -> None:
        waits.append(seconds)
        retry(engine, job_id, 0)

    monkeypatch.setattr(runner, "_retry_later", record)
    with unit_of_work() as session:
        job_id = enqueue(session, kind="test.busy", payload={}, created_by="test").id
    for _ in range(runner.MAX_ATTEMPTS):
        assert runner.run_once(get_engine())
    assert waits == [30.0, 60.0]
    with unit_of_work() as session:
        job = session.get_one(Job, job_id)
        assert job.state == "failed" and "database is locked" in (job.error or "")
