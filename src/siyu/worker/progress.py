"""Progress of running jobs.

On PostgreSQL progress is written to the job row from a connection of its own, so every
process can read it. SQLite allows one writer, and the job's own transaction holds it, so there
progress is kept in this process's memory, where `siyu serve`'s API reads it.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine, update

from siyu.worker.models import Job

_memory: dict[int, tuple[int, int | None]] = {}
_lock = threading.Lock()


def in_memory(job_id: int) -> tuple[int, int | None] | None:
    with _lock:
        return _memory.get(job_id)


class Reporter:
    def __init__(self, engine: Engine, job_id: int, interval: float = 1.0) -> None:
        self.engine = engine
        self.job_id = job_id
        self.interval = interval
        self.done = 0
        self.total: int | None = None
        self._last = 0.0
        self._shared = engine.dialect.name != "sqlite"

    def start(self, total: int) -> None:
        self.total = total
        self._publish(force=True)

    def advance(self, amount: int) -> None:
        self.done += amount
        self._publish()

    def finish(self) -> None:
        with _lock:
            _memory.pop(self.job_id, None)

    def _publish(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        with _lock:
            _memory[self.job_id] = (self.done, self.total)
        if self._shared:
            with self.engine.begin() as connection:
                connection.execute(
                    update(Job)
                    .where(Job.id == self.job_id)
                    .values(progress_done=self.done, progress_total=self.total)
                )
