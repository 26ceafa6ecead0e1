"""SQLite checkpoints off the event writer's path.

In WAL mode a commit appends pages to the log, and the commit that takes the log past
`wal_autocheckpoint` pages copies them into the database file and syncs it, while the writer
waits. The event writer's connections put that threshold far out of reach and this thread runs
a PASSIVE checkpoint, which neither waits for nor blocks readers or writers, soon after
writes; the high threshold is only a safety net should it fall behind. Committed data is as
durable either way: a checkpoint only moves it from the log into the database file.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Engine, event

from siyu.db.session import make_engine

log = logging.getLogger(__name__)

# Pages (4 KB) the log may grow to before the writer checkpoints itself.
WRITER_AUTOCHECKPOINT = 10_000
# At most this often, so the database file is not synced after every small commit.
INTERVAL_SECONDS = 0.2


def writer_engine(url: str) -> Engine:
    """An engine of the writer's own whose connections leave checkpoints to `Checkpointer`.

    Its transactions take the write lock as they begin, waiting for a writer in another
    process if need be: one begun as a reader would fail at its first write whenever another
    process had committed in between.
    """
    engine = make_engine(url, sqlite_begin="BEGIN IMMEDIATE")

    def _connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA wal_autocheckpoint={WRITER_AUTOCHECKPOINT}")
        cursor.close()

    event.listen(engine, "connect", _connect)
    return engine


class Checkpointer:
    """A thread that checkpoints after `written` is called, then `close`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._due = threading.Event()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="siyu-checkpoint", daemon=True)
        self._thread.start()

    def written(self) -> None:
        self._due.set()

    def close(self) -> None:
        self._closing.set()
        self._due.set()
        self._thread.join()

    def _run(self) -> None:
        # A raw connection: the driver runs it in autocommit, so no transaction is open
        # around the checkpoint.
        connection = self._engine.raw_connection()
        try:
            while True:
                self._due.wait()
                if self._closing.is_set():
                    return
                self._due.clear()
                try:
                    cursor = connection.cursor()
                    cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    cursor.fetchall()
                    cursor.close()
                except Exception:
                    log.exception("a checkpoint of the event database failed")
                self._closing.wait(INTERVAL_SECONDS)
        finally:
            connection.close()
