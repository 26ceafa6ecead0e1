"""Fewer garbage-collector passes while a bulk job builds millions of short-lived objects.

CPython starts a collection every 700 new container objects; an import of a million rows makes
tens of millions of them (records, tuples, dicts) and spent about a fifth of its time in those
passes, none of which found garbage: the records are acyclic and freed by reference counting.
While any bulk job runs, the first threshold is raised; the old settings come back when the
last one ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

BULK_THRESHOLD = 100_000

_lock = threading.Lock()
_active = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def fewer_collections() -> Iterator[None]:
    global _active, _saved
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(max(BULK_THRESHOLD, _saved[0]), _saved[1], _saved[2])
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _saved is not None:
                gc.set_threshold(*_saved)
