"""The demo merchant: built through the importers, believable, and the same for the same seed."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.contacts.models import (
    Contact,
    ContactConsent,
    ContactIdentity,
    ContactNote,
    ContactOrder,
    ContactTagLink,
    Tag,
)
from siyu.demo import DEMO_AS_OF, build_demo
from siyu.demo.files import TAOBAO_HEADER, write_taobao_orders
from siyu.demo.model import PLATFORMS
from siyu.demo.people import Population
from siyu.staff.models import StaffUser

SMALL = 300


def _count(session: Session, query: Any) -> int:
    return session.execute(select(func.count()).select_from(query.subquery())).scalar_one()


def test_small_demo_builds_a_believable_merchant(session: Session, tmp_path: Path) -> None:
    summary = build_demo(session, customers=SMALL, seed=7, workdir=tmp_path)

    assert summary["rows_rejected"] == 0, summary["imports"]
    assert set(summary["platforms"]) == set(PLATFORMS)
    assert summary["orders"] == _count(session, select(ContactOrder.id))
    assert summary["contacts"] == _count(session, select(Contact.id))
    # Several shops show the same people: their orders meet on one contact...
    assert _count(session, select(Contact.id).where(Contact.platforms.contains(","))) > 5
    # ...and sometimes only a later file proves two contacts are one person.
    assert summary["merges"] >= 1
    # Believable stages: every kind of buyer, lapsed ones too.
    stages = summary["stages"]
    assert set(stages) >= {"lead", "new_customer", "repeat", "at_risk", "churned"}, stages
    assert sum(stages.values()) == summary["contacts"]
    # Buy-till-you-die: many buy once, a fair share come back.
    repeat = _count(session, select(Contact.id).where(Contact.order_count >= 2))
    once = _count(session, select(Contact.id).where(Contact.order_count == 1))
    assert repeat > 0.2 * (repeat + once)
    assert _count(session, select(ContactOrder.id).where(ContactOrder.status == "refunded")) > 0
    assert _count(session, select(ContactOrder.id).where(ContactOrder.status == "cancelled")) > 0
    assert _count(session, select(ContactOrder.id).where(ContactOrder.coupon_code.is_not(None)))
    # Douyin hides its buyers: a masked phone is a hint, never an identity.
    douyin_phones = select(ContactIdentity.value).where(
        ContactIdentity.kind == "phone", ContactIdentity.value.contains("*")
    )
    assert _count(session, douyin_phones) == 0
    # The CRM side: grouped tags, staff owners, consent and notes.
    groups = set(session.execute(select(Tag.tag_group).distinct()).scalars())
    assert {"兴趣", "人群", ""} <= groups
    assert _count(session, select(ContactTagLink.contact_id)) > SMALL // 4
    assert _count(session, select(Contact.id).where(Contact.owner_id.is_not(None))) > 0
    assert _count(session, select(ContactConsent.id).where(ContactConsent.granted)) > 0
    assert summary["notes"] == _count(session, select(ContactNote.id)) > 0
    assert 4 <= _count(session, select(StaffUser.id)) <= 6


def _fingerprint(session: Session) -> str:
    """Content of the pool, independent of ids and of when it was built."""
    key: dict[int, str] = {}
    for contact_id, kind, value in session.execute(
        select(ContactIdentity.contact_id, ContactIdentity.kind, ContactIdentity.value).order_by(
            ContactIdentity.kind, ContactIdentity.value
        )
    ):
        key.setdefault(contact_id, f"{kind}:{value}")
    contacts = sorted(
        (key.get(c.id, ""), c.name, c.order_count, c.total_spent, c.platforms, c.city)
        for c in session.execute(select(Contact)).scalars()
    )
    orders = sorted(
        (
            o.platform,
            o.platform_order_id,
            o.status,
            o.total_amount,
            o.paid_amount,
            o.refunded_amount,
            o.placed_at.isoformat(),
            key[o.contact_id],
        )
        for o in session.execute(select(ContactOrder)).scalars()
    )
    tags = sorted(
        (key[contact_id], group, name)
        for contact_id, group, name in session.execute(
            select(ContactTagLink.contact_id, Tag.tag_group, Tag.name).join(
                Tag, Tag.id == ContactTagLink.tag_id
            )
        )
    )
    return hashlib.sha256(repr((contacts, orders, tags)).encode()).hexdigest()


def _files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _build(session: Session, folder: Path, seed: int) -> tuple[str, dict[str, Any]]:
    nested = session.begin_nested()
    try:
        summary = build_demo(session, customers=SMALL, seed=seed, workdir=folder)
        return _fingerprint(session), summary
    finally:
        nested.rollback()


def test_same_seed_gives_the_same_merchant(session: Session, tmp_path: Path) -> None:
    first, summary = _build(session, tmp_path / "a", seed=11)
    second, again = _build(session, tmp_path / "b", seed=11)
    assert first == second
    assert summary == again
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    other, _ = _build(session, tmp_path / "c", seed=12)
    assert other != first


def test_taobao_file_looks_like_the_seller_centre_export(tmp_path: Path) -> None:
    population = Population(3, DEMO_AS_OF)
    orders = [o for i in range(40) for o in population.person(i).orders]
    path = tmp_path / "ExportOrderList.csv"
    assert write_taobao_orders(path, orders) == len(orders)

    raw = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # GBK, as the classic report is
    text = raw.decode("gbk")
    lines = text.split("\r\n")
    assert lines[1].startswith('="') and ',="",' in lines[1]
    rows = list(csv.reader(text.splitlines()))
    assert tuple(rows[0]) == TAOBAO_HEADER
    assert "收货地址 " in rows[0]
    assert all(len(row) == len(TAOBAO_HEADER) for row in rows[1:])
    assert any(row[16].startswith("'1") for row in rows[1:])  # 联系手机 with its apostrophe
