"""Every purchase of the pool as four columns in memory, the input of the reports.

SQLite has no hash aggregation: grouping ten million orders by month or by contact sorts them
all, which took 35–42 s on the benchmark database, and a cohort matrix needs both groupings.
Read once into numpy columns sorted by contact and day (22 bytes an order, 220 MB at ten
million), every figure of the reports — under any date range, platform or segment — is a few
vectorised passes taking well under a second. A snapshot is read in one query, kept per
process and database, and re-read when it is older than SIYU_REPORT_MAX_AGE_SECONDS; the
reports say how old it is.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Integer, case, cast, func, literal_column, select
from sqlalchemy.orm import Session

from siyu.analytics.scope import (
    CONTACT,
    ORDER,
    Scope,
    contact_filter,
    net,
    purchase_filter,
    sqlite_offset,
)
from siyu.config import get_settings
from siyu.db.types import utcnow
from siyu.kit.actor import Actor
from siyu.kit.timeutil import local_zone

CHUNK = 200_000


@dataclass(frozen=True)
class Purchases:
    """One row per purchase, sorted by (contact, day): `day` counts local days since
    1970-01-01, `platform` indexes `platforms`, `net` is paid minus refunded in fen."""

    contact: np.ndarray
    day: np.ndarray
    platform: np.ndarray
    net: np.ndarray
    platforms: tuple[str, ...]
    read_at: datetime
    seconds: float

    def __len__(self) -> int:
        return int(self.contact.size)

    def where(self, keep: np.ndarray) -> Purchases:
        """The rows where `keep` is true (order preserved)."""
        return Purchases(
            self.contact[keep],
            self.day[keep],
            self.platform[keep],
            self.net[keep],
            self.platforms,
            self.read_at,
            self.seconds,
        )


_cache: dict[str, Purchases] = {}
_lock = threading.Lock()
_rereading: set[str] = set()
# A snapshot is reused for at most this many times as long as it took to read (and never
# longer than SIYU_REPORT_MAX_AGE_SECONDS): a small pool is read again on every report, a
# pool of ten million orders every few minutes.
REUSE_FACTOR = 30


def snapshot(session: Session, *, max_age: float | None = None) -> Purchases:
    """This process's snapshot of the database's purchases. When it is too old it is read
    again; while a large one is read again in the background, the old one answers."""
    limit = get_settings().report_max_age_seconds if max_age is None else max_age
    engine = session.get_bind().engine
    key = engine.url.render_as_string(hide_password=True)
    with _lock:
        found = _cache.get(key)
    if found is not None:
        age = (utcnow() - found.read_at).total_seconds()
        if age <= min(limit, REUSE_FACTOR * found.seconds):
            return found
        if found.seconds >= 1 and age <= 10 * limit:
            _reread_in_background(engine, key)
            return found
    fresh = read(session)
    with _lock:
        _cache[key] = fresh
    return fresh


def _reread_in_background(engine: Any, key: str) -> None:
    with _lock:
        if key in _rereading:
            return
        _rereading.add(key)

    def work() -> None:
        try:
            with Session(engine) as session:
                fresh = read(session)
            with _lock:
                _cache[key] = fresh
        finally:
            with _lock:
                _rereading.discard(key)

    threading.Thread(target=work, name="siyu-purchases", daemon=True).start()


def forget() -> None:
    """Drop every snapshot: the next report reads the orders again."""
    with _lock:
        _cache.clear()


def read(session: Session) -> Purchases:
    started = time.perf_counter()
    read_at = utcnow()
    platforms = tuple(
        sorted(
            p or ""
            for p in session.scalars(
                select(ORDER.c.platform).where(*purchase_filter(Scope())).distinct()
            )
        )
    )
    if not platforms:  # no purchases at all
        empty = np.empty(0, dtype=np.int64)
        return Purchases(
            empty, empty.astype(np.int32), empty.astype(np.int16), empty, (), read_at, 0.0
        )
    code = case({p: i for i, p in enumerate(platforms)}, value=ORDER.c.platform, else_=0)
    query = select(ORDER.c.contact_id, _local_day(session), code, net()).where(
        *purchase_filter(Scope())
    )
    parts = [
        np.fromiter(itertools.chain.from_iterable(chunk), dtype=np.int64, count=4 * len(chunk))
        for chunk in _raw_rows(session, query)
    ]
    parts = [part.reshape(-1, 4) for part in parts]
    rows = np.concatenate(parts) if parts else np.empty((0, 4), dtype=np.int64)
    order = np.lexsort((rows[:, 1], rows[:, 0]))
    rows = rows[order]
    return Purchases(
        contact=rows[:, 0].copy(),
        day=rows[:, 1].astype(np.int32),
        platform=rows[:, 2].astype(np.int16),
        net=rows[:, 3].copy(),
        platforms=platforms,
        read_at=read_at,
        seconds=time.perf_counter() - started,
    )


def _raw_rows(session: Session, query: Any) -> Any:
    """The query's rows in chunks straight from the driver: SQLAlchemy's rows cost four
    times the query itself at ten million (44 s against 9 s, measured)."""
    dialect = session.get_bind().dialect
    sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    driver = session.connection().connection.driver_connection
    # PostgreSQL streams through a named (server-side) cursor; SQLite's steps the query.
    cursor = driver.cursor("siyu_purchases") if dialect.name == "postgresql" else driver.cursor()
    try:
        cursor.execute(sql)
        while chunk := cursor.fetchmany(CHUNK):
            yield chunk
    finally:
        cursor.close()


def _local_day(session: Session) -> Any:
    """Whole local days since 1970-01-01 of placed_at, in SIYU_TIMEZONE."""
    if session.get_bind().dialect.name == "postgresql":
        local = func.timezone(local_zone().key, ORDER.c.placed_at)
        return cast(func.floor(func.extract("epoch", local) / 86400), Integer)
    # SQLite keeps UTC text: shifted into the merchant's zone (scope.sqlite_offset).
    return cast(
        func.julianday(ORDER.c.placed_at, literal_column(f"'{sqlite_offset()}'")) - 2440587.5,
        Integer,
    )


def scoped(session: Session, scope: Scope, actor: Actor | None, *, timed: bool = True) -> Purchases:
    """The snapshot cut to a scope: its platforms, its segment and the actor's customers,
    and, unless `timed` is false, its dates."""
    found = snapshot(session)
    keep = np.ones(len(found), dtype=bool)
    if scope.platforms:
        wanted = [i for i, p in enumerate(found.platforms) if p in scope.platforms]
        keep &= np.isin(found.platform, wanted)
    members = contact_filter(scope, actor, CONTACT.c.id)
    if members:
        ids = np.fromiter(session.scalars(select(CONTACT.c.id).where(*members)), np.int64)
        keep &= np.isin(found.contact, ids)
    if timed:
        since, until = day_range(scope)
        if since is not None:
            keep &= found.day >= since
        if until is not None:
            keep &= found.day < until
    return found if keep.all() else found.where(keep)


def day_range(scope: Scope) -> tuple[int | None, int | None]:
    """The scope's dates as local day numbers (until exclusive)."""
    return (
        None if scope.since is None else to_day(scope.since),
        None if scope.until is None else to_day(scope.until),
    )


def to_day(moment: datetime) -> int:
    local = moment.astimezone(local_zone()).replace(tzinfo=None)
    return int(np.datetime64(local, "D").astype(np.int64))


def month_of(days: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of local day numbers."""
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def month_name(month: int) -> str:
    return str(np.datetime64(int(month), "M"))
