"""Customer search for text inside a name or masked phone: the trigram index (migration 0007)
finds exactly what a LIKE over every contact finds, and every writer keeps it current."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, delete, make_url, or_, select, text, update
from sqlalchemy.orm import Session

from siyu.contacts import search, service, text_index
from siyu.contacts.identity import Claim, resolve
from siyu.contacts.models import Contact
from siyu.db import migrate
from siyu.db.session import make_engine
from siyu.db.types import utcnow
from siyu.ingest.service import import_file
from siyu.kit.actor import Actor
from tests.api.conftest import order_row, write_orders_csv
from tests.conftest import BACKENDS, PG_URL, _drop, _fresh_database

# CJK, both cases, characters LIKE and FTS5 treat specially, letters whose case only Unicode
# folds, the index's own padding character, and spaces.
ALPHABET = list("王芳李娜小明张伟aAbBzZ%_\"*'/\\^:()-. 12*4éÉßİ\x01")
NAMES = st.text(st.sampled_from(ALPHABET), max_size=7)


def _like(needle: str) -> Any:
    """What the search answered before the index: a LIKE over every contact."""
    return or_(
        Contact.name.contains(needle, autoescape=True),
        Contact.phone_hint.contains(needle, autoescape=True),
    )


def _ids(session: Session, condition: Any) -> set[int]:
    return set(session.execute(select(Contact.id).where(condition)).scalars())


def _found(session: Session, needle: str) -> set[int]:
    return _ids(session, text_index.containing(session, needle))


def _listed(session: Session, needle: str) -> list[int]:
    return [item["id"] for item in search.list_contacts(session, text=needle, limit=500).items]


def _consistent(session: Session) -> None:
    """SQLite: the FTS5 index holds exactly what its content view says (raises otherwise)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            text(
                "INSERT INTO contact_name_search (contact_name_search, rank) "
                "VALUES ('integrity-check', 1)"
            )
        )


def _add(session: Session, name: str | None, hint: str | None = None) -> Contact:
    contact = Contact(name=name, phone_hint=hint, source="test")
    session.add(contact)
    session.flush()
    return contact


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    people=st.lists(st.tuples(st.none() | NAMES, st.none() | NAMES), min_size=1, max_size=12),
    needles=st.lists(NAMES, max_size=6),
    picks=st.lists(st.tuples(st.integers(0, 11), st.integers(0, 7), st.integers(1, 4))),
    short_terms=st.sampled_from([text_index.SHORT_TERMS, 1]),
    common=st.sampled_from([text_index.COMMON, 2]),
)
def test_same_contacts_as_like(
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    people: list[tuple[str | None, str | None]],
    needles: list[str],
    picks: list[tuple[int, int, int]],
    short_terms: int,
    common: int,
) -> None:
    monkeypatch.setattr(text_index, "SHORT_TERMS", short_terms)
    monkeypatch.setattr(text_index, "COMMON", common)
    nested = session.begin_nested()
    for name, hint in people:
        _add(session, name, hint)
    # Pieces of stored names and hints too, so that most needles find someone.
    values = [v for person in people for v in person if v]
    for which, start, size in picks:
        if values:
            value = values[which % len(values)]
            needles.append(value[start % len(value) :][:size])
    for needle in needles:
        needle = needle.strip()
        if needle:
            assert _found(session, needle) == _ids(session, _like(needle)), repr(needle)
    _consistent(session)
    nested.rollback()


def test_short_and_long_searches_through_the_list(session: Session) -> None:
    wang = _add(session, "王芳", "138****1234").id
    wangfang = _add(session, "李王芳芳", None).id
    smith = _add(session, "Anna Smith", "+1 (555) 0100").id
    _add(session, None, None)
    assert _listed(session, "王芳") == [wangfang, wang]
    assert _listed(session, "芳") == [wangfang, wang]
    assert _listed(session, "王芳芳") == [wangfang]
    assert _listed(session, "34") == [wang]
    assert _listed(session, "****") == [wang]
    assert _listed(session, "Smith") == [smith]
    # As before the index: SQLite's LIKE matches ASCII letters in either case, PostgreSQL's not.
    folds = session.get_bind().dialect.name == "sqlite"
    assert _listed(session, "NA S") == ([smith] if folds else [])
    assert _listed(session, "(555)") == [smith]
    for nobody in ("无此人", "无", "%", "_", '"', "*5", "'", '"*"', "a%b", "NEAR(", "芳%"):
        assert _listed(session, nobody) == [], nobody


@pytest.mark.parametrize("limit", ["SHORT_TERMS", "COMMON"])
def test_a_common_text_walks_the_list(
    session: Session, monkeypatch: pytest.MonkeyPatch, limit: str
) -> None:
    monkeypatch.setattr(text_index, limit, 2)
    ids = [_add(session, name).id for name in ("王一号", "王二号", "王三号", "王四号")]
    assert _listed(session, "王") == ids[::-1]
    assert _listed(session, "号") == ids[::-1]
    assert _listed(session, "王三号") == [ids[2]]


def test_renamed_contact_is_found_by_its_new_name_only(session: Session) -> None:
    actor = Actor.cli()
    contact = service.create_contact(
        session, actor=actor, identities=["external_id:r1"], name="旧名字"
    )
    service.update_contact(session, contact=contact, actor=actor, changes={"name": "新名字"})
    session.flush()
    assert _listed(session, "新名字") == [contact.id]
    assert _listed(session, "旧名字") == []
    assert _listed(session, "旧") == []
    session.execute(
        update(Contact).where(Contact.id == contact.id).values(phone_hint="139****0001")
    )
    assert _listed(session, "0001") == [contact.id]
    # Rollups rewrite other columns; the name stays found.
    session.execute(update(Contact).where(Contact.id == contact.id).values(order_count=3))
    assert _listed(session, "新名") == [contact.id]
    _consistent(session)


def test_merged_away_and_deleted_contacts_leave_the_index(session: Session) -> None:
    first = resolve(session, [Claim([("taobao_nick", "小赵")], {"name": "赵敏"})], source="t")
    second = resolve(session, [Claim([("jd_pin", "zhao")])], source="jd")
    resolve(session, [Claim([("taobao_nick", "小赵"), ("jd_pin", "zhao")])], source="t")
    survivor = min(first.contact_ids[0], second.contact_ids[0])
    # The survivor took the absorbed contact's name; the absorbed one is gone.
    assert _listed(session, "赵敏") == [survivor]
    assert _listed(session, "敏") == [survivor]
    _consistent(session)
    session.execute(delete(Contact).where(Contact.id == survivor))
    assert _listed(session, "赵敏") == []
    assert _found(session, "敏") == set()
    _consistent(session)


def test_imported_contacts_are_found(session: Session, tmp_path: Path) -> None:
    path = write_orders_csv(
        tmp_path / "orders.csv",
        [
            order_row("T1", "taobao_nick:阿May", name="周慧敏", phone="138****5678"),
            order_row("T2", "taobao_nick:小吴"),
        ],
    )
    import_file(session, path, write_error_report=False)
    # A later file fills the name a contact lacked.
    later = write_orders_csv(
        tmp_path / "later.csv", [order_row("T3", "taobao_nick:小吴", name="吴彦")]
    )
    import_file(session, later, write_error_report=False)
    may = service.get_by_ref(session, "taobao_nick:阿May").id
    wu = service.get_by_ref(session, "taobao_nick:小吴").id
    assert _listed(session, "周慧敏") == [may]
    assert _listed(session, "5678") == [may]
    assert _listed(session, "吴彦") == [wu]
    _consistent(session)


@pytest.fixture(params=BACKENDS)
def at_0006(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database of its own, migrated up to the revision before the index."""
    url, admin = _fresh_database(request.param, tmp_path)
    engine = make_engine(url)
    migrate.upgrade(engine, "0006")
    yield engine
    engine.dispose()
    _drop(url, admin)


def test_the_migration_indexes_existing_contacts_and_goes_back(at_0006: Engine) -> None:
    # Written with the columns a 0006 database has (the model has gained some since).
    with at_0006.begin() as connection:
        before = connection.execute(
            text(
                "INSERT INTO contact (name, phone_hint, source, traits, created_at, updated_at, "
                "order_count, total_spent, refunded_amount, average_order_value, platforms) "
                "VALUES ('欧阳娜娜', '186****2468', 'test', '{}', :t, :t, 0, 0, 0, 0, '') "
                "RETURNING id"
            ),
            {"t": utcnow()},
        ).scalar_one()
    migrate.upgrade(at_0006)
    with Session(at_0006) as session:
        assert _listed(session, "欧阳娜娜") == [before]
        assert _listed(session, "娜") == [before]
        assert _listed(session, "2468") == [before]
        _consistent(session)
    config = migrate.alembic_config()
    with at_0006.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
    with at_0006.connect() as connection:
        tables = {
            row[0]
            for row in connection.execute(
                text("SELECT name FROM sqlite_master")
                if at_0006.dialect.name == "sqlite"
                else text("SELECT indexname FROM pg_indexes WHERE tablename = 'contact'")
            )
        }
    assert not {t for t in tables if "name_search" in t or "trgm" in t}
    migrate.upgrade(at_0006)
    with Session(at_0006) as session:
        assert _listed(session, "欧阳") == [before]


@pytest.mark.skipif(PG_URL is None, reason="PostgreSQL only")
def test_without_pg_trgm_the_migration_goes_on_unindexed(caplog: pytest.LogCaptureFixture) -> None:
    """A role that may not create extensions gets the schema and a plain, unindexed search."""
    assert PG_URL
    suffix = uuid.uuid4().hex[:8]
    role, name = f"siyu_no_extensions_{suffix}", f"siyu_test_no_trgm_{suffix}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    owner = create_engine(make_url(PG_URL).set(database=name), isolation_level="AUTOCOMMIT")
    with owner.connect() as connection:
        connection.execute(text(f'GRANT CREATE ON SCHEMA public TO "{role}"'))
    owner.dispose()
    url = make_url(PG_URL).set(database=name, username=role)
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        with caplog.at_level(logging.WARNING):
            migrate.upgrade(engine)
        assert "pg_trgm could not be created" in caplog.text
        with Session(engine) as session:
            indexes = session.execute(
                text("SELECT indexname FROM pg_indexes WHERE tablename = 'contact'")
            ).scalars()
            assert not [index for index in indexes if "trgm" in index]
            contact = _add(session, "欧阳娜娜")
            assert _listed(session, "欧阳娜") == _listed(session, "娜") == [contact.id]
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()
