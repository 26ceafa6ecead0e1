"""The worker loop: claim a job, run its handler in a transaction of its own, record the outcome."""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from contextlib import nullcontext
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from siyu.db.session import session_factory, writing
from siyu.db.types import utcnow
from siyu.errors import SiyuError
from siyu.worker import scheduler
from siyu.worker.models import Job
from siyu.worker.queue import claim

log = logging.getLogger(__name__)

Handler = Callable[[Session, Job, Engine], dict[str, Any]]
HANDLERS: dict[str, Handler] = {}
# Small, frequent work that is no job row: each poller takes what is waiting in a table of its
# own (contacts whose segments need a look) and says how much it took.
Poller = Callable[[Session], int]
POLLERS: dict[str, Poller] = {}
# How often the scheduler looks for periodic jobs that are due.
SCHEDULE_EVERY = 5.0
# How often jobs and pollers run while messages are being sent.
BUSY_TURN = 0.5
# Runs of one job before a collision with other writers is reported as a failure.
MAX_ATTEMPTS = 3


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        return function

    return register


def poller(name: str) -> Callable[[Poller], Poller]:
    def register(function: Poller) -> Poller:
        POLLERS[name] = function
        return function

    return register


def _load_handlers() -> None:
    # Domain task modules register themselves on import.
    import siyu.analytics.clv.tasks
    import siyu.analytics.tasks
    import siyu.contacts.tasks
    import siyu.engage.journeys.tasks
    import siyu.engage.tasks
    import siyu.growth.coupons.tasks
    import siyu.ingest.tasks
    import siyu.segments.tasks  # noqa: F401


def run_once(engine: Engine) -> bool:
    """Run one job if there is one; returns whether a job ran."""
    _load_handlers()
    make = session_factory(writing(engine))
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
    except OperationalError as error:
        # The database was busy or away for a moment (a lock, a restart): transient, so the
        # job waits 30 s, 1 min, 2 min… before it runs again, and fails only after that.
        if attempts < MAX_ATTEMPTS:
            _retry_later(engine, job_id, seconds=30.0 * 2 ** (attempts - 1))
        else:
            _finish(
                engine, job_id, state="failed", error=f"the database kept failing: {error.orig}"
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


def poll_once(engine: Engine) -> int:
    """Run every poller once, each in a transaction of its own; returns the work they took."""
    _load_handlers()
    # Pollers mostly find nothing: they read first and take the write lock only for work.
    make = session_factory(engine)
    taken = 0
    for name, function in POLLERS.items():
        try:
            with make() as session, session.begin():
                taken += function(session)
        except (IntegrityError, OperationalError):
            # A concurrent writer got there first (or held SQLite's lock): what is left is
            # taken next time round.
            pass
        except Exception:
            log.error("poller %s failed:\n%s", name, traceback.format_exc())
    return taken


def run_forever(
    engine: Engine, stop: threading.Event, idle_seconds: float = 0.5, *, send: bool = True
) -> None:
    """Jobs, pollers and message sending until `stop` is set. A stop (SIGTERM) lets the
    current step finish: a batch of messages being sent is sent and recorded first."""
    from siyu.engage.dispatch import Dispatcher

    # Half a second idle: a contact's segments follow a change within a second.
    scheduled_at = other_at = 0.0
    sending = False
    dispatcher = Dispatcher(engine) if send else None
    try:
        while not stop.is_set():
            ran = False
            try:
                turn = dispatcher.writing() if dispatcher is not None else nullcontext()
                if time.monotonic() - scheduled_at >= SCHEDULE_EVERY:
                    scheduled_at = time.monotonic()
                    _load_handlers()
                    with turn:
                        scheduler.tick(engine)
                # While a campaign is going out, jobs and pollers get a turn twice a second
                # rather than between every batch: each look takes the write lock the
                # senders need.
                if not sending or time.monotonic() - other_at >= BUSY_TURN:
                    other_at = time.monotonic()
                    with turn:
                        ran = run_once(engine)
                        ran = bool(poll_once(engine)) or ran
                if dispatcher is not None:
                    sending = bool(dispatcher.run_once())
                    ran = sending or ran
            except Exception:  # the database may be briefly unavailable; try again
                log.exception("worker loop error")
            if not ran:
                stop.wait(idle_seconds)
    finally:
        if dispatcher is not None:
            try:
                dispatcher.close()
            except Exception:
                log.exception("closing the dispatcher")


def start_in_thread(engine: Engine) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(
        target=run_forever, args=(engine, stop), name="siyu-worker", daemon=True
    )
    thread.start()
    return thread, stop
