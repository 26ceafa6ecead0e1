"""The event writer: one thread that stores concurrent /v1 requests in shared transactions.

Most of a request's write is a fixed cost (checking the key, a handful of lookups, the commit)
and SQLite takes one writer at a time, so requests queue for a thread of their own. It takes
every request waiting, up to MAX_GROUP_EVENTS events, checks each distinct write key once,
stores each source's requests in one pass as if they came one after another, commits once
and only then answers each request. A bad key or a refused event fails its own request alone.
When the group fails as a whole (a concurrent writer in another process, a broken row) it is
tried again, then each of its requests in a transaction of its own, so a failure stays with
the request that causes it. On PostgreSQL each request by default writes at once, in a
transaction of its own, through the same code.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.concurrency import run_in_threadpool

from siyu.db.session import get_engine, make_engine, unit_of_work
from siyu.errors import SiyuError, Unauthorized
from siyu.events import service, sources
from siyu.events.checkpoints import Checkpointer, writer_engine
from siyu.events.service import Prepared

log = logging.getLogger(__name__)

# A group's events (a bigger batch goes alone). A request waits for at most the group being
# written and its own: at 5-10 ms per 100 events, some tens of ms.
MAX_GROUP_EVENTS = 1_000
ATTEMPTS = 3
# How long a request waits for its answer before it is told to send again.
WAIT_SECONDS = 30.0


class Unavailable(SiyuError):
    """The writer is stopping, or did not answer in time: the client should send again."""

    status = 503
    title = "Service unavailable"


@dataclass(eq=False)
class Work:
    """One request: its write key, its prepared messages, and where its answer goes."""

    key: str | None
    prepared: Prepared
    # How many new messages were stored, or the request's own error.
    answer: Future[int] = field(default_factory=Future)

    @property
    def size(self) -> int:
        return max(1, len(self.prepared.messages))


_STOP = object()
Outcome = int | BaseException


class Writer:
    """Started by the first request, stopped by `stop` (the app's shutdown).

    `grouped`: whether requests queue for the writer thread; by default on SQLite only.
    PostgreSQL runs concurrent transactions well, and measured, a request written at once in
    a transaction of its own beat queueing for one thread there.
    """

    def __init__(
        self,
        *,
        max_events: int = MAX_GROUP_EVENTS,
        wait_seconds: float = WAIT_SECONDS,
        grouped: bool | None = None,
    ) -> None:
        self.max_events = max_events
        self.wait_seconds = wait_seconds
        self.grouped = grouped
        self._alone: Engine | None = None  # the engine of requests written one by one
        self._queue: queue.SimpleQueue[Work | object] = queue.SimpleQueue()
        self._held: Work | None = None  # taken but too big for the last group: the next one's
        self._closing = False
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def closing(self) -> bool:
        return self._closing

    def submit(self, key: str | None, prepared: Prepared) -> Future[int]:
        work = Work(key, prepared)
        with self._guard:
            if self._closing:
                raise Unavailable("the server is shutting down; send the events again")
            if self._thread is None or not self._thread.is_alive():
                if self._thread is not None:
                    log.error("the event writer had stopped; starting it again")
                self._thread = threading.Thread(
                    target=self._run, name="siyu-event-writer", daemon=True
                )
                self._thread.start()
            self._queue.put(work)
        return work.answer

    async def write(self, key: str | None, prepared: Prepared) -> int:
        """Store one request's prepared messages; returns once they are committed."""
        if self.grouped is None:
            self.grouped = get_engine().dialect.name != "postgresql"
        if not self.grouped:
            return await run_in_threadpool(self._write_alone, Work(key, prepared))
        answer = asyncio.wrap_future(self.submit(key, prepared))
        try:
            # A request still queued when this gives up is cancelled; one being written
            # commits anyway, and the client's retry is then a duplicate, stored once.
            return await asyncio.wait_for(answer, self.wait_seconds)
        except TimeoutError:
            log.error("the event writer gave no answer within %g s", self.wait_seconds)
            raise Unavailable("storing the events took too long; send them again") from None

    def _write_alone(self, work: Work) -> int:
        with self._guard:
            if self._closing:
                raise Unavailable("the server is shutting down; send the events again")
            if self._alone is None:
                self._alone = _engine()[0]
            engine = self._alone
        self._write(engine, [work])
        return work.answer.result()

    def stop(self, timeout: float = WAIT_SECONDS) -> None:
        """Write everything queued so far, then end the thread; later requests get 503."""
        with self._guard:
            if self._closing:
                return
            self._closing = True
            self._queue.put(_STOP)
            thread = self._thread
            if self._alone is not None:
                # Requests still writing keep their connections until they finish.
                self._alone.dispose()
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.error("the event writer did not finish within %.0f s", timeout)
        # Whatever the thread did not reach (it died or is stuck) is answered, never dropped.
        leftovers: list[object] = []
        if thread is None or not thread.is_alive():
            leftovers.append(self._held)
            self._held = None
        while True:
            try:
                leftovers.append(self._queue.get_nowait())
            except queue.Empty:
                break
        for item in leftovers:
            if isinstance(item, Work) and item.answer.set_running_or_notify_cancel():
                item.answer.set_exception(Unavailable("the server stopped; send the events again"))

    def _run(self) -> None:
        engine, own = _engine()
        checkpointer = Checkpointer(engine) if own and engine.dialect.name == "sqlite" else None
        stopping = False
        try:
            while not stopping:
                group, stopping = self._gather()
                if group:
                    self._write(engine, group)
                    if checkpointer is not None:
                        checkpointer.written()
        except BaseException:
            log.exception("the event writer stopped unexpectedly")
            raise
        finally:
            if checkpointer is not None:
                checkpointer.close()
            if own:
                engine.dispose()

    def _gather(self) -> tuple[list[Work], bool]:
        """The requests waiting now, up to max_events; and whether to stop after them."""
        item = self._held or self._queue.get()
        self._held = None
        group: list[Work] = []
        events = 0
        while True:
            if item is _STOP:
                return group, True
            assert isinstance(item, Work)
            if group and events + item.size > self.max_events:
                self._held = item
                return group, False
            # False for a request whose client gave up waiting: it is left out.
            if item.answer.set_running_or_notify_cancel():
                group.append(item)
                events += item.size
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return group, False

    def _write(self, engine: Engine, group: list[Work]) -> None:
        try:
            outcomes = _attempts(engine, group)
        except Exception as error:
            if len(group) == 1:
                group[0].answer.set_exception(error)
                return
            log.warning("a group of %d event requests failed (%r); each alone", len(group), error)
            for work in group:
                self._write(engine, [work])
            return
        for work, outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                work.answer.set_exception(outcome)
            else:
                work.answer.set_result(outcome)


def _engine() -> tuple[Engine, bool]:
    """The engine to write with, and whether it is the writer's own (to dispose of)."""
    url = get_engine().url
    text = url.render_as_string(hide_password=False)
    if url.get_backend_name() == "postgresql":
        # One connection runs the same few statements all day, so psycopg prepares them, and
        # a generic plan made while the event table was small would scan it whole for every
        # request after; planning each time with its values costs far less.
        options = {"options": "-c plan_cache_mode=force_custom_plan"}
        return make_engine(text, connect_args=options), True
    if url.database not in (None, "", ":memory:"):  # a file: checkpoints move off this thread
        return writer_engine(text), True
    return get_engine(), False


def _attempts(engine: Engine, group: list[Work]) -> list[Outcome]:
    attempt = 1
    while True:
        try:
            return _transaction(engine, group)
        except (IntegrityError, OperationalError):
            # A writer in another process created the same person or held the lock: do it
            # again against what it committed.
            if attempt == ATTEMPTS:
                raise
            time.sleep(0.01 * attempt)
            attempt += 1


def _transaction(engine: Engine, group: list[Work]) -> list[Outcome]:
    """Store the group in one transaction; each request's outcome once it is committed."""
    outcomes: list[Outcome] = [0] * len(group)
    by_source: dict[int, list[int]] = {}
    with unit_of_work(engine) as session:
        # Checked in the write transaction, never cached: a revoked key fails at once.
        source_of: dict[str | None, int | Unauthorized] = {}
        for index, work in enumerate(group):
            if work.key not in source_of:
                try:
                    source_of[work.key] = sources.authenticate(session, work.key)
                except Unauthorized as error:
                    source_of[work.key] = error
            source = source_of[work.key]
            if isinstance(source, Unauthorized):
                outcomes[index] = Unauthorized(source.message)
            else:
                by_source.setdefault(source, []).append(index)
        for source_id, indexes in by_source.items():
            requests = [group[i].prepared for i in indexes]
            stored = service.store_many(session, source_id=source_id, requests=requests)
            for index, outcome in zip(indexes, stored, strict=True):
                outcomes[index] = outcome
    return outcomes
