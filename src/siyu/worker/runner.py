"""The worker loop: claim a job, run its handler in a transaction of its own, record the outcome."""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.db.session import session_factory
from siyu.db.types import utcnow
from siyu.errors import SiyuError
from siyu.worker.models import Job
from siyu.worker.queue import claim

log = logging.getLogger(__name__)

Handler = Callable[[Session, Job, Engine], dict[str, Any]]
HANDLERS: dict[str, Handler] = {}
# Runs of one job before a collision with other writers is reported as a failure.
MAX_ATTEMPTS = 3


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        return function

    return register


def _load_handlers() -> None:
    # Domain task modules register themselves on import.
    import siyu.analytics.tasks
    import siyu.contacts.tasks
    import siyu.ingest.tasks  # noqa: F401


def run_once(engine: Engine) -> bool:
    """Run one job if there is one; returns whether a job ran."""
    _load_handlers()
    make = session_factory(engine)
    with make() as session, session.begin():
        job = claim(session, sorted(HANDLERS))
        if job is None:
            return False
        job_id, kind = job.id, job.kind
    try:
        with make() as session, session.begin():
            job = session.get_one(Job, job_id)
            attempts = job.attempts
            result = HANDLERS[kind](session, job, engine)
        _finish(engine, job_id, state="done", result=result)
    except IntegrityError:
        # Another process wrote the same unique row (an identity, a tag) at the same moment.
        # The job's transaction was rolled back whole, so running it again is safe.
        if attempts < MAX_ATTEMPTS:
            _retry_later(engine, job_id)
        else:
            _finish(
                engine,
                job_id,
                state="failed",
                error="kept colliding with other writers; run it again",
            )
    except SiyuError as error:
        _finish(engine, job_id, state="failed", error=error.message)
    except Exception as error:  # a bug: keep the worker alive and the trace in the log
        log.error("job %s (%s) failed:\n%s", job_id, kind, traceback.format_exc())
        _finish(engine, job_id, state="failed", error=f"internal error: {error}")
    return True


def _retry_later(engine: Engine, job_id: int, seconds: float = 2.0) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(state="queued", run_after=utcnow() + timedelta(seconds=seconds))
        )


def _finish(
    engine: Engine,
    job_id: int,
    *,
    state: str,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(state=state, result=result, error=error, finished_at=utcnow())
        )


def run_forever(engine: Engine, stop: threading.Event, idle_seconds: float = 1.0) -> None:
    while not stop.is_set():
        try:
            ran = run_once(engine)
        except Exception:  # the database may be briefly unavailable; try again
            log.exception("worker loop error")
            ran = False
        if not ran:
            stop.wait(idle_seconds)


def start_in_thread(engine: Engine) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(
        target=run_forever, args=(engine, stop), name="siyu-worker", daemon=True
    )
    thread.start()
    return thread, stop
