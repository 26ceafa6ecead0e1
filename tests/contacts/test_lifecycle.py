"""Stored lifecycle stages: each stage, each transition recorded once with its time and reason,
the clock-driven sweep, merges, imports and the migration's backfill."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from siyu.config import get_settings
from siyu.contacts import lifecycle, rollups
from siyu.contacts import service as contacts_service
from siyu.contacts.identity import Claim, merge, resolve
from siyu.contacts.models import Contact, ContactLifecycleTransition, ContactOrder
from siyu.db import migrate
from siyu.db.session import make_engine
from siyu.db.types import utcnow
from siyu.ingest.service import import_file
from siyu.kit.actor import Actor
from tests.conftest import BACKENDS, _drop, _fresh_database

_numbers = itertools.count(1)


def create(session: Session, *identities: str) -> Contact:
    return contacts_service.create_contact(session, actor=Actor.cli(), identities=list(identities))


def buy(session: Session, person: Contact, placed_at: datetime, status: str = "paid") -> None:
    """An order as an import writes it: the row, then the rollups (and with them the stage)."""
    session.add(
        ContactOrder(
            contact_id=person.id,
            platform="taobao",
            platform_order_id=f"L{next(_numbers)}",
            status=status,
            currency="CNY",
            total_amount=1000,
            paid_amount=1000,
            placed_at=placed_at,
        )
    )
    session.flush()
    rollups.recompute(session, [person.id])
    session.refresh(person)


def history(session: Session, person: Contact) -> list[tuple[str | None, str, str]]:
    rows = session.execute(
        select(ContactLifecycleTransition)
        .where(ContactLifecycleTransition.contact_id == person.id)
        .order_by(ContactLifecycleTransition.id)
    ).scalars()
    return [(r.from_stage, r.to_stage, r.reason) for r in rows]


def test_visitor_lead_and_buyers_up_to_loyal(session: Session) -> None:
    now = utcnow()
    person = create(session, "anonymous_id:v-1")
    assert person.lifecycle_stage == "visitor"
    contacts_service.add_identity(
        session, contact=person, ref="phone:13800138000", actor=Actor.cli()
    )
    session.refresh(person)
    assert person.lifecycle_stage == "lead"
    buy(session, person, now - timedelta(days=30), status="pending")  # not a purchase
    assert person.lifecycle_stage == "lead"
    buy(session, person, now - timedelta(days=30))
    assert person.lifecycle_stage == "new_customer"
    buy(session, person, now - timedelta(days=15))
    assert person.lifecycle_stage == "repeat"
    buy(session, person, now - timedelta(days=10))
    buy(session, person, now - timedelta(days=1))
    assert person.lifecycle_stage == "loyal"
    assert history(session, person) == [
        (None, "visitor", "identity"),
        ("visitor", "lead", "identity"),
        ("lead", "new_customer", "orders"),
        ("new_customer", "repeat", "orders"),
        ("repeat", "loyal", "orders"),
    ]
    changed = session.execute(
        select(ContactLifecycleTransition.changed_at).where(
            ContactLifecycleTransition.contact_id == person.id
        )
    ).scalars()
    assert all(abs(at - now) < timedelta(minutes=5) for at in changed)
    # Losing the reachable identity (and never having bought) goes back to visitor.
    other = create(session, "anonymous_id:v-2", "email:a@example.com")
    assert other.lifecycle_stage == "lead"
    contacts_service.remove_identity(
        session, contact=other, ref="email:a@example.com", actor=Actor.cli()
    )
    session.refresh(other)
    assert other.lifecycle_stage == "visitor"


def test_the_sweep_moves_lapsed_buyers_and_a_new_order_brings_them_back(
    session: Session,
) -> None:
    now = utcnow()
    person = create(session, "phone:13800138001")
    buy(session, person, now - timedelta(days=100))
    buy(session, person, now - timedelta(days=50))  # usual gap: 50 days
    assert person.lifecycle_stage == "repeat"
    assert lifecycle.sweep(session, now=now + timedelta(days=45)) == 0  # 95 days: within 2 gaps
    assert lifecycle.sweep(session, now=now + timedelta(days=55)) == 1  # 105 days
    session.refresh(person)
    assert person.lifecycle_stage == "at_risk"
    assert lifecycle.sweep(session, now=now + timedelta(days=60)) == 0  # recorded once
    assert lifecycle.sweep(session, now=now + timedelta(days=151)) == 1  # 201 > 4 gaps
    session.refresh(person)
    assert person.lifecycle_stage == "churned"
    buy(session, person, now)  # back: three orders, gap 50, bought today
    assert person.lifecycle_stage == "repeat"
    assert history(session, person)[-3:] == [
        ("repeat", "at_risk", "sweep"),
        ("at_risk", "churned", "sweep"),
        ("churned", "repeat", "orders"),
    ]
    at = session.execute(
        select(ContactLifecycleTransition.changed_at).where(
            ContactLifecycleTransition.contact_id == person.id,
            ContactLifecycleTransition.to_stage == "churned",
        )
    ).scalar_one()
    assert at == now + timedelta(days=151)  # the sweep's own `now`


def test_one_order_buyers_use_the_default_gap_and_settings_apply(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = utcnow()
    person = create(session, "phone:13800138002")
    buy(session, person, now - timedelta(days=170))
    assert person.lifecycle_stage == "new_customer"  # 170 days, default gap 90: not yet
    lifecycle.sweep(session, now=now + timedelta(days=11))
    session.refresh(person)
    assert person.lifecycle_stage == "at_risk"  # 181 > 2 × 90
    monkeypatch.setenv("SIYU_LIFECYCLE_DEFAULT_GAP_DAYS", "30")
    get_settings.cache_clear()
    lifecycle.sweep(session, now=now)
    session.refresh(person)
    assert person.lifecycle_stage == "churned"  # 170 > 4 × 30
    # Two orders on one day: the gap counts as the minimum (7 days), not zero.
    twins = create(session, "phone:13800138003")
    buy(session, twins, now - timedelta(days=10, hours=1))
    buy(session, twins, now - timedelta(days=10))
    assert twins.lifecycle_stage == "repeat"  # 10 days < 2 × 7? no: 10 < 14
    monkeypatch.setenv("SIYU_LIFECYCLE_LOYAL_ORDERS", "2")
    get_settings.cache_clear()
    lifecycle.refresh(session, contact_ids=[twins.id])
    session.refresh(twins)
    assert twins.lifecycle_stage == "loyal"


def test_the_hard_horizon_churns_whatever_the_gap(session: Session) -> None:
    now = utcnow()
    person = create(session, "phone:13800138004")
    buy(session, person, now - timedelta(days=1400))
    buy(session, person, now - timedelta(days=731))  # gap 669 days, yet over 730 days ago
    assert person.lifecycle_stage == "churned"


def test_a_merge_recomputes_the_survivor_and_drops_the_absorbed_history(
    session: Session,
) -> None:
    now = utcnow()
    visitor = create(session, "anonymous_id:m-1")
    buyer = create(session, "phone:13800138005")
    buy(session, buyer, now - timedelta(days=3))
    assert (visitor.lifecycle_stage, buyer.lifecycle_stage) == ("visitor", "new_customer")
    absorbed = buyer.id
    kept = visitor.id
    merge(session, survivor=kept, absorbed=absorbed, reason="test")
    session.expire_all()
    survivor = session.get_one(Contact, kept)
    assert survivor.lifecycle_stage == "new_customer"
    assert history(session, survivor) == [
        (None, "visitor", "identity"),
        ("visitor", "new_customer", "orders"),
    ]
    assert not session.execute(
        select(ContactLifecycleTransition).where(ContactLifecycleTransition.contact_id == absorbed)
    ).first()


ORDERS = """order_id,platform,placed_at,status,total,currency,customer
A1,taobao,{recent},completed,100,CNY,taobao_nick:fresh
A2,taobao,{recent},completed,100,CNY,taobao_nick:twice
A3,taobao,{older},completed,100,CNY,taobao_nick:twice
A4,taobao,{recent},cancelled,100,CNY,taobao_nick:never
"""


def test_an_import_records_each_contacts_first_stage_once(session: Session, tmp_path: Path) -> None:
    local = utcnow().astimezone(get_settings().zone).replace(tzinfo=None)
    path = tmp_path / "orders.csv"
    path.write_text(
        ORDERS.format(
            recent=(local - timedelta(days=2)).strftime("%Y-%m-%d %H:%M"),
            older=(local - timedelta(days=20)).strftime("%Y-%m-%d %H:%M"),
        ),
        encoding="utf-8",
    )
    import_file(session, path)
    stages = {
        nick: contacts_service.get_by_ref(session, f"taobao_nick:{nick}")
        for nick in ("fresh", "twice", "never")
    }
    assert {nick: c.lifecycle_stage for nick, c in stages.items()} == {
        "fresh": "new_customer",
        "twice": "repeat",
        "never": "lead",
    }
    for person in stages.values():
        assert history(session, person) == [(None, person.lifecycle_stage, "orders")]
    import_file(session, path)  # the same file again changes nothing
    assert all(len(history(session, c)) == 1 for c in stages.values())


def test_the_profile_reads_the_stored_stage_and_its_history(session: Session) -> None:
    person = create(session, "anonymous_id:p-1")
    data = contacts_service.profile(session, person)
    assert data["lifecycle_stage"] == "visitor"
    assert [h["to_stage"] for h in data["lifecycle_history"]] == ["visitor"]
    assert data["rfm"] is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_migration_backfills_stages_and_downgrades(backend: str, tmp_path: Path) -> None:
    url, admin = _fresh_database(backend, tmp_path)
    engine = make_engine(url)
    try:
        migrate.upgrade(engine, "0006")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO contact (id, name, source, traits, created_at, updated_at, "
                    "order_count, total_spent, refunded_amount, average_order_value, platforms, "
                    "first_order_at, last_order_at) VALUES "
                    "(1, 'v', 'x', '{}', :t, :t, 0, 0, 0, 0, '', NULL, NULL), "
                    "(2, 'l', 'x', '{}', :t, :t, 0, 0, 0, 0, '', NULL, NULL), "
                    "(3, 'r', 'x', '{}', :t, :t, 2, 0, 0, 0, '', :first, :last), "
                    "(4, 'c', 'x', '{}', :t, :t, 1, 0, 0, 0, '', :old, :old)"
                ),
                {
                    "t": utcnow(),
                    "first": utcnow() - timedelta(days=20),
                    "last": utcnow() - timedelta(days=10),
                    "old": utcnow() - timedelta(days=800),
                },
            )
            connection.execute(
                text(
                    "INSERT INTO contact_identity (contact_id, kind, value, source, created_at) "
                    "VALUES (1, 'anonymous_id', 'a', '', :t), (2, 'phone', '+8613800138000', "
                    "'', :t)"
                ),
                {"t": utcnow()},
            )
        migrate.upgrade(engine)
        with engine.connect() as connection:
            stages = dict(connection.execute(text("SELECT id, lifecycle_stage FROM contact")).all())
            rows = connection.execute(
                text(
                    "SELECT contact_id, from_stage, to_stage, reason "
                    "FROM contact_lifecycle_transition ORDER BY contact_id"
                )
            ).all()
        assert stages == {1: "visitor", 2: "lead", 3: "repeat", 4: "churned"}
        assert [tuple(r) for r in rows] == [
            (1, None, "visitor", "backfill"),
            (2, None, "lead", "backfill"),
            (3, None, "repeat", "backfill"),
            (4, None, "churned", "backfill"),
        ]
        config = migrate.alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0006")
        found = inspect(engine)
        names = set(found.get_table_names())
        assert "lifecycle_stage" not in {c["name"] for c in found.get_columns("contact")}
        assert "contact_lifecycle_transition" not in names
        assert "analytics_rfm_score" not in names
        migrate.upgrade(engine)  # and up again
    finally:
        engine.dispose()
        _drop(url, admin)


def test_identity_resolution_records_visitor_to_lead(session: Session) -> None:
    """As the event API resolves calls: an anonymous page view, then an identify."""
    seen = resolve(session, [Claim([("anonymous_id", "web-1")])], source="events")
    person = session.get_one(Contact, seen.contact_ids[0])
    assert person.lifecycle_stage == "visitor"
    again = resolve(session, [Claim([("anonymous_id", "web-1")])], source="events")
    assert again.contact_ids == seen.contact_ids
    resolve(
        session,
        [Claim([("external_id", "user-1"), ("anonymous_id", "web-1")])],
        source="events",
    )
    session.refresh(person)
    assert person.lifecycle_stage == "lead"
    assert history(session, person) == [
        (None, "visitor", "identity"),
        ("visitor", "lead", "identity"),
    ]
