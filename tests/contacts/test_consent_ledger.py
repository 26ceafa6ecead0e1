"""The consent ledger: one row for each statement that changed a consent, none for repeats,
whichever path the statement came by; it follows merges and the migration fills it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from siyu.contacts import consent
from siyu.contacts import service as contacts_service
from siyu.contacts.identity import merge
from siyu.contacts.models import Contact, ContactConsent, ContactConsentChange
from siyu.db import migrate
from siyu.db.session import make_engine
from siyu.db.types import utcnow
from siyu.errors import Forbidden, Invalid
from siyu.ingest.service import import_file
from siyu.kit.actor import Actor
from tests.conftest import BACKENDS, _drop, _fresh_database


def create(session: Session, *identities: str) -> Contact:
    return contacts_service.create_contact(session, actor=Actor.cli(), identities=list(identities))


def ledger(session: Session, contact_id: int | None = None) -> list[tuple]:
    query = select(ContactConsentChange).order_by(ContactConsentChange.id)
    if contact_id is not None:
        query = query.where(ContactConsentChange.contact_id == contact_id)
    return [
        (r.contact_id, r.channel, r.granted, r.purpose, r.source, r.actor, r.ip)
        for r in session.execute(query).scalars()
    ]


def test_each_change_writes_one_row_and_a_repeat_none(session: Session) -> None:
    person = create(session, "phone:13800138000")
    record = dict(session=session, contact_id=person.id, channel="sms", source="console")
    assert consent.record_consent(**record, granted=True, purpose="新品", actor="staff:li.na")
    assert not consent.record_consent(**record, granted=True, purpose="新品", actor="staff:li.na")
    assert consent.record_consent(**record, granted=False, ip="203.0.113.77")
    # Older than what is on record: no change, no row.
    old = utcnow() - timedelta(days=3)
    assert not consent.record_consent(**record, granted=True, recorded_at=old)
    assert ledger(session, person.id) == [
        (person.id, "sms", True, "新品", "console", "staff:li.na", None),
        (person.id, "sms", False, "", "console", "system", "203.0.113.0"),
    ]


def test_ipv6_addresses_are_cut_to_their_48(session: Session) -> None:
    person = create(session, "phone:13800138001")
    consent.record_consent(
        session,
        contact_id=person.id,
        channel="email",
        granted=True,
        source="form",
        ip="2001:db8:1234:5678::1",
    )
    assert ledger(session, person.id)[0][-1] == "2001:db8:1234::"


def test_unknown_channel_names_the_known_ones(session: Session) -> None:
    person = create(session, "phone:13800138002")
    with pytest.raises(Invalid, match=r"fax.*email, sms, wecom, wechat_oa"):
        consent.record_consent(
            session, contact_id=person.id, channel="fax", granted=True, source="cli"
        )
    assert ledger(session) == []


def test_change_consent_checks_the_role_and_audits(session: Session) -> None:
    person = create(session, "phone:13800138003")
    staff = Actor("staff:xiao", staff_id=None, role="staff")
    with pytest.raises(Forbidden):
        consent.grant(session, contact=person, channel="sms", actor=staff, source="console")
    viewer = Actor("staff:kan", role="viewer")
    with pytest.raises(Forbidden):
        consent.withdraw(session, contact=person, channel="sms", actor=viewer, source="console")
    assert ledger(session, person.id) == []
    operator = Actor("staff:yun", role="operator")
    assert consent.grant(
        session, contact=person, channel="sms", actor=operator, source="console", purpose=" 会员 "
    )
    assert not consent.grant(
        session, contact=person, channel="sms", actor=operator, source="console", purpose="会员"
    )
    assert consent.withdraw(session, contact=person, channel="sms", actor=operator, source="api")
    assert [(r[2], r[3], r[4], r[5]) for r in ledger(session, person.id)] == [
        (True, "会员", "console", "staff:yun"),
        (False, "", "api", "staff:yun"),
    ]
    history = consent.history(session, person.id)
    assert [h["granted"] for h in history] == [False, True]  # newest first
    assert consent.current(session, person.id)[0]["granted"] is False


def members_csv(path: Path, *rows: str) -> Path:
    header = "customer,name,consent_email,consent_sms,consent_purpose,consent_at\n"
    path.write_text(header + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


def test_an_import_writes_a_row_per_change_and_again_none(session: Session, tmp_path: Path) -> None:
    path = members_csv(
        tmp_path / "members.csv",
        "external_id:M1,周,yes,no,会员通知,2024-05-01 12:00",
        "external_id:M2,吴,yes,,,2024-05-02 12:00",
        "external_id:M3,郑,,,,",
    )
    import_file(session, path, actor="staff:li.na")
    rows = session.execute(select(ContactConsentChange).order_by(ContactConsentChange.id)).scalars()
    found = sorted((r.channel, r.granted, r.purpose, r.source, r.actor) for r in rows)
    assert found == [
        ("email", True, "", "import", "staff:li.na"),
        ("email", True, "会员通知", "import", "staff:li.na"),
        ("sms", False, "会员通知", "import", "staff:li.na"),
    ]
    # contact_consent keeps the importer's name; the ledger, the path.
    assert {c.source for c in session.execute(select(ContactConsent)).scalars()} == {"contacts_csv"}
    import_file(session, path)
    assert len(ledger(session)) == 3
    # A later file that withdraws: one row more, by whoever imported it.
    later = members_csv(tmp_path / "later.csv", "external_id:M2,吴,no,,,2024-06-01 12:00")
    import_file(session, later, actor="cli")
    assert ledger(session)[-1][1:] == ("email", False, "", "import", "cli", None)


def test_one_file_saying_both_keeps_both_in_the_ledger(session: Session, tmp_path: Path) -> None:
    path = members_csv(
        tmp_path / "twice.csv",
        "external_id:M9,钱,yes,,,2024-05-01 12:00",
        "external_id:M9,钱,no,,,2024-05-03 12:00",
    )
    import_file(session, path)
    assert [(r[1], r[2]) for r in ledger(session)] == [("email", True), ("email", False)]
    (held,) = session.execute(select(ContactConsent)).scalars()
    assert held.granted is False


def test_merges_keep_the_absorbed_contacts_ledger(session: Session) -> None:
    a = create(session, "phone:13800138004")
    b = create(session, "email:b@example.com")
    for person in (a, b):
        consent.record_consent(
            session, contact_id=person.id, channel="email", granted=True, source="cli"
        )
    merge(session, survivor=a.id, absorbed=b.id, reason="test")
    assert [r[0] for r in ledger(session)] == [a.id, a.id]


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_migration_backfills_the_ledger_and_downgrades(backend: str, tmp_path: Path) -> None:
    url, admin = _fresh_database(backend, tmp_path)
    engine = make_engine(url)
    try:
        migrate.upgrade(engine, "0011")
        at = utcnow() - timedelta(days=30)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO contact (id, name, source, traits, created_at, updated_at, "
                    "order_count, total_spent, refunded_amount, average_order_value, platforms) "
                    "VALUES (1, 'v', 'x', '{}', :t, :t, 0, 0, 0, 0, '')"
                ),
                {"t": at},
            )
            connection.execute(
                text(
                    "INSERT INTO contact_consent (contact_id, channel, granted, source, purpose, "
                    "recorded_at) VALUES (1, 'sms', :yes, 'contacts_csv', '会员', :t), "
                    "(1, 'email', :no, 'manual', '', :t)"
                ),
                {"t": at, "yes": True, "no": False},
            )
        migrate.upgrade(engine)
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT contact_id, channel, granted, purpose, source, actor, ip "
                    "FROM contact_consent_change ORDER BY channel"
                )
            ).all()
        assert [tuple(r) for r in rows] == [
            (1, "email", False, "", "backfill", "system", None),
            (1, "sms", True, "会员", "backfill", "system", None),
        ]
        config = migrate.alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0011")
        assert "contact_consent_change" not in set(inspect(engine).get_table_names())
        migrate.upgrade(engine)
    finally:
        engine.dispose()
        _drop(url, admin)


def test_a_second_withdrawal_is_a_repeat_whatever_it_says(session: Session) -> None:
    person = create(session, "phone:13800138005")
    record = dict(session=session, contact_id=person.id, channel="sms", source="sms_reply")
    assert consent.record_consent(**record, granted=False, purpose="")
    assert not consent.record_consent(**record, granted=False, purpose="TD")
    # A grant re-worded is a new agreement, though.
    assert consent.record_consent(**record, granted=True, purpose="新品")
    assert consent.record_consent(**record, granted=True, purpose="新品和优惠")
    assert len(ledger(session, person.id)) == 3
