"""Engines and the unit of work. Services receive a Session and never commit; edges do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from siyu.config import get_settings

# WAL lets the console read while an import writes; foreign keys are off by default in
# SQLite; a 64 MB page cache keeps a million-row import's indexes in memory.
SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "foreign_keys=ON",
    "synchronous=NORMAL",
    "busy_timeout=30000",
    "cache_size=-65536",
    "temp_store=MEMORY",
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling would skip BEGIN before SAVEPOINT, so nested
    # transactions would commit for real; SQLAlchemy emits BEGIN itself instead (see _begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def make_engine(url: str, *, sqlite_begin: str = "BEGIN", **kwargs: Any) -> Engine:
    """`sqlite_begin`: "BEGIN IMMEDIATE" for a writer that should wait for the write lock
    (busy_timeout) when its transaction starts, rather than fail when it first writes."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)

        def _begin(connection: Any) -> None:
            connection.exec_driver_sql(sqlite_begin)

        event.listen(engine, "begin", _begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


@lru_cache
def engine_for(url: str, *, immediate: bool = False) -> Engine:
    return make_engine(url, sqlite_begin="BEGIN IMMEDIATE" if immediate else "BEGIN")


def writing(engine: Engine) -> Engine:
    """The engine for work that will write. On SQLite its transactions take the write lock as
    they begin, waiting for it (busy_timeout): a transaction that read first and wrote later
    would fail at once if another connection had committed in between."""
    if engine.dialect.name != "sqlite":
        return engine
    return engine_for(engine.url.render_as_string(hide_password=False), immediate=True)


def get_engine() -> Engine:
    return engine_for(get_settings().database_url)


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    return sessionmaker(bind=engine or get_engine(), expire_on_commit=False)


@contextmanager
def unit_of_work(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits when the block ends cleanly and rolls back otherwise."""
    session = session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
