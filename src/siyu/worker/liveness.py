"""Which workers are alive: each beats a heartbeat row from a thread of its own, so a long
job cannot make a living worker look dead; a worker whose heartbeat stopped is dead, and
what it held is settled by the others (messages become `unknown`, jobs run again)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from siyu.worker.models import Job, WorkerProcess
from siyu.worker.queue import WORKER_NAME

log = logging.getLogger(__name__)

BEAT_EVERY = 2.0
# A job is run again only when its worker is surely gone: a process of this machine that no
# longer exists, or a heartbeat silent this many times longer than the message threshold.
JOB_PATIENCE = 10


def beat(engine: Engine, name: str, now: datetime) -> None:
    table = WorkerProcess.__table__
    with engine.begin() as connection:
        changed = connection.execute(
            table.update().where(table.c.name == name).values(beat_at=now)
        ).rowcount
        if not changed:
            connection.execute(table.insert().values(name=name, started_at=now, beat_at=now))


def forget(engine: Engine, name: str) -> None:
    """A worker leaving cleanly takes its heartbeat row with it."""
    table = WorkerProcess.__table__
    with engine.begin() as connection:
        connection.execute(table.delete().where(table.c.name == name))


class Heartbeat:
    """Beats every BEAT_EVERY seconds until stopped."""

    def __init__(self, engine: Engine, name: str, clock: Callable[[], datetime]) -> None:
        self.engine, self.name, self.clock = engine, name, clock
        self._stop = threading.Event()
        beat(engine, name, clock())  # before anything is claimed under this name
        self._thread = threading.Thread(target=self._run, name="siyu-heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(BEAT_EVERY):
            try:
                beat(self.engine, self.name, self.clock())
            except Exception as error:  # the database is briefly busy or away: next time
                log.warning("heartbeat: %s", error)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        forget(self.engine, self.name)


def alive_here(name: str) -> bool | None:
    """Whether a worker of this machine is still running; None when it is another machine's."""
    host, _, pid = name.rpartition(":")
    if host != WORKER_NAME.rpartition(":")[0] or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def dead_workers(
    session: Session, names: list[str | None], *, now: datetime, dead_after: float
) -> list[str]:
    """Of the workers named, those that are dead: gone from this machine, never beat, or
    silent for longer than `dead_after` seconds."""
    beats = dict(session.execute(select(WorkerProcess.name, WorkerProcess.beat_at)).all())
    dead = []
    for name in names:
        if name is None or name == WORKER_NAME:
            continue
        last = beats.get(name)
        if alive_here(name) is False or last is None or last < now - timedelta(seconds=dead_after):
            dead.append(name)
    return dead


def requeue_jobs(session: Session, *, now: datetime, dead_after: float) -> int:
    """Jobs a dead worker was running go back to the queue: a job runs in one transaction,
    which died with the worker, so running it again is safe."""
    running = session.scalars(select(Job.claimed_by).where(Job.state == "running").distinct()).all()
    if not running:
        return 0
    gone = dead_workers(session, list(running), now=now, dead_after=dead_after * JOB_PATIENCE)
    if not gone:
        return 0
    count = session.execute(
        update(Job)
        .where(Job.state == "running", Job.claimed_by.in_(gone))
        .values(state="queued", run_after=now, claimed_by=None)
    ).rowcount
    log.warning("%s jobs of stopped workers %s are queued again", count, ", ".join(gone))
    return int(count or 0)
