"""The suppression list: addresses normalised however they are typed, add and remove audited,
the roles that may change it, and the bounce hook that fills it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.audit.models import AuditEvent
from siyu.config import get_settings
from siyu.engage import suppressions
from siyu.engage.models import EngageSuppression
from siyu.errors import Forbidden, Invalid, NotFound
from siyu.kit.actor import Actor
from tests.api.conftest import assert_problem

CLI = Actor.cli()


def count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(EngageSuppression)).scalar_one()


def test_addresses_are_normalised_and_added_once(session: Session) -> None:
    row, created = suppressions.add(
        session, address=" Lin@Example.COM ", actor=CLI, reason="hard bounce"
    )
    assert created and (row["address_kind"], row["address"]) == ("email", "lin@example.com")
    assert row["source"] == "manual" and row["reason"] == "hard bounce"
    again, created = suppressions.add(session, address="lin@example.com", actor=CLI, reason="x")
    assert not created and again["id"] == row["id"] and again["reason"] == "hard bounce"
    phone, _ = suppressions.add(session, address="138 0013 8000", actor=CLI)
    assert (phone["address_kind"], phone["address"]) == ("phone", "+8613800138000")
    assert count(session) == 2
    assert suppressions.is_suppressed(session, "email", "LIN@example.com")
    assert suppressions.is_suppressed(session, "phone", "+86 13800138000")
    assert suppressions.is_suppressed(session, "phone", "8613800138000")
    assert not suppressions.is_suppressed(session, "phone", "13900139000")
    assert not suppressions.is_suppressed(session, "email", "not an address")
    assert suppressions.suppressed_addresses(
        session, "email", ["lin@example.com", "other@example.com"]
    ) == {"lin@example.com"}
    actions = session.execute(select(AuditEvent.action)).scalars().all()
    assert actions.count("suppression.add") == 2


def test_remove_and_list(session: Session) -> None:
    for address in ("a@example.com", "b@example.com", "13800138000"):
        suppressions.add(session, address=address, actor=CLI)
    page = suppressions.list_suppressions(session, actor=CLI, limit=2)
    assert [r["address"] for r in page.items] == ["+8613800138000", "b@example.com"]
    rest = suppressions.list_suppressions(session, actor=CLI, limit=2, cursor=page.next_cursor)
    assert [r["address"] for r in rest.items] == ["a@example.com"] and rest.next_cursor is None
    only = suppressions.list_suppressions(session, actor=CLI, kind="phone")
    assert [r["address"] for r in only.items] == ["+8613800138000"]
    suppressions.remove(session, address="B@example.com", actor=CLI)
    assert not suppressions.is_suppressed(session, "email", "b@example.com")
    with pytest.raises(NotFound, match="not on the suppression list"):
        suppressions.remove(session, address="b@example.com", actor=CLI)


@pytest.mark.parametrize(
    ("kind", "address", "needle"),
    [
        ("email", "nobody", "not an e-mail address"),
        ("phone", "12", "not a usable phone"),
        (None, "138****1234", "not a usable phone"),
        ("fax", "123", "unknown address kind"),
    ],
)
def test_bad_addresses_are_refused(session: Session, kind: str, address: str, needle: str) -> None:
    with pytest.raises(Invalid, match=needle):
        suppressions.add(session, address=address, kind=kind, actor=CLI)
    assert count(session) == 0


def test_roles(session: Session) -> None:
    viewer = Actor("staff:kan", role="viewer")
    with pytest.raises(Forbidden):
        suppressions.add(session, address="a@example.com", actor=viewer)
    assert suppressions.list_suppressions(session, actor=viewer).items == []
    with pytest.raises(Forbidden):
        suppressions.add(session, address="a@example.com", actor=Actor("s", role="staff"))


def test_the_bounce_hook(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIYU_SMS_REPLY_TOKEN", "secret")
    get_settings.cache_clear()
    url = "/hooks/bounce?token=secret"
    response = client.post(url, json={"email": "Lin@Example.com", "reason": "550 no such user"})
    assert response.status_code == 200
    assert response.json() == {"suppressed": "lin@example.com", "created": True}
    assert client.post(url, json={"email": "lin@example.com"}).json()["created"] is False
    (row,) = session.execute(select(EngageSuppression)).scalars()
    assert (row.reason, row.source) == ("550 no such user", "bounce")
    for body in ({}, {"email": 5}, {"email": "nobody"}, {"email": "a@b.cn", "reason": 3}, []):
        assert_problem(client.post(url, json=body), 400)
    assert_problem(client.post(url, content=b"{", headers={"content-type": "text/plain"}), 400)
