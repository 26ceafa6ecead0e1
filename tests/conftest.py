"""Test databases: every database test runs on SQLite and, when SIYU_TEST_DATABASE_URL is set,
on PostgreSQL too. Schemas are made by the Alembic migrations, as in production."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session

from siyu.analytics import reports
from siyu.config import get_settings
from siyu.db import migrate
from siyu.db.session import engine_for, make_engine

PG_URL = os.environ.get("SIYU_TEST_DATABASE_URL")
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]


def _fresh_database(backend: str, tmp: Path) -> tuple[str, Engine | None]:
    """A new, empty database; returns its URL and, for PostgreSQL, the admin engine to drop it."""
    if backend == "sqlite":
        return f"sqlite:///{tmp / f'siyu-{uuid.uuid4().hex[:8]}.db'}", None
    assert PG_URL
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"siyu_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False), admin


def _drop(url: str, admin: Engine | None) -> None:
    engine_for.cache_clear()
    if admin is None:
        return
    name = make_url(url).database
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated database per backend, shared by the session's transactional tests."""
    url, admin = _fresh_database(request.param, tmp_path_factory.mktemp("db"))
    engine = make_engine(url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()
    _drop(url, admin)


@pytest.fixture
def session(database: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    connection = database.connect()
    outer = connection.begin()
    db_session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield db_session
    finally:
        db_session.close()
        outer.rollback()
        connection.close()


class SchemaTemplates:
    """One migrated database per backend, made once per session and copied for each test
    that commits: running every migration per test cost seconds a test on PostgreSQL."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.made: dict[str, str] = {}  # backend → template file (SQLite) or database name

    def copy(self, backend: str, tmp: Path) -> tuple[str, Engine | None]:
        template = self.made.get(backend) or self._make(backend)
        if backend == "sqlite":
            target = tmp / f"siyu-{uuid.uuid4().hex[:8]}.db"
            shutil.copyfile(template, target)
            return f"sqlite:///{target}", None
        assert PG_URL
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        name = f"siyu_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        return make_url(PG_URL).set(database=name).render_as_string(hide_password=False), admin

    def _make(self, backend: str) -> str:
        url, admin = _fresh_database(backend, self.root)
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()  # a template must have no connections (and SQLite no WAL) left
        if admin is not None:
            admin.dispose()
        template = make_url(url).database
        assert template
        self.made[backend] = template
        return template

    def drop(self) -> None:
        if "postgresql" in self.made and PG_URL:
            _drop(
                make_url(PG_URL)
                .set(database=self.made["postgresql"])
                .render_as_string(hide_password=False),
                create_engine(PG_URL, isolation_level="AUTOCOMMIT"),
            )


@pytest.fixture(scope="session")
def schema_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SchemaTemplates]:
    templates = SchemaTemplates(tmp_path_factory.mktemp("templates"))
    yield templates
    templates.drop()


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    schema_templates: SchemaTemplates,
) -> Iterator[str]:
    """A migrated database of its own for tests that commit; set as SIYU_DATABASE_URL."""
    url, admin = schema_templates.copy(request.param, tmp_path)
    monkeypatch.setenv("SIYU_DATABASE_URL", url)
    get_settings.cache_clear()
    engine_for.cache_clear()
    yield url
    get_settings.cache_clear()
    engine_for.cache_clear()
    _drop(url, admin)


@pytest.fixture(autouse=True, scope="session")
def _quick_password_hashing() -> Iterator[None]:
    """Argon2 with its lightest parameters: the production ones cost a quarter of a second a
    hash on purpose, which hundreds of sign-ins in the console tests add up to minutes. The
    hashes are still real Argon2 and verified as such; `siyu serve` (the browser tests'
    server) keeps the production parameters."""
    from argon2 import PasswordHasher

    from siyu.staff import service as staff_service

    kept = staff_service._hasher
    staff_service._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    staff_service._hasher = kept


@pytest.fixture(autouse=True)
def _settings_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A fixed session key, so no test writes a generated one into the work tree's var/.
    monkeypatch.setenv("SIYU_SECRET_KEY", "test-session-key")
    get_settings.cache_clear()
    # Reports keep the orders they read per database; tests reuse database names.
    reports.forget()
    yield
    get_settings.cache_clear()
