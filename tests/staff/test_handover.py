"""Handing customers over from one staff member to another."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audit.models import AuditEvent
from siyu.contacts import service
from siyu.contacts.handover import handover
from siyu.errors import Forbidden, Invalid, NotFound
from siyu.kit.actor import Actor
from siyu.staff.service import create_staff, disable_staff

ADMIN = Actor.cli()


@pytest.fixture
def owned(session: Session) -> list[int]:
    for login in ("mei", "lan", "gone"):
        create_staff(session, login=login, actor=ADMIN)
    ids = [
        service.create_contact(
            session, actor=ADMIN, identities=[f"external_id:c{n}"], owner="mei" if n < 3 else "lan"
        ).id
        for n in range(5)
    ]
    return ids


def owners(session: Session, ids: list[int]) -> list[str | None]:
    return [service.profile(session, service.get_by_ref(session, i))["owner"] for i in ids]


def test_preview_then_hand_everything_over(session: Session, owned: list[int]) -> None:
    assert handover(session, from_login="mei", to_login="lan", actor=ADMIN, preview=True) == 3
    assert owners(session, owned) == ["mei", "mei", "mei", "lan", "lan"]
    assert handover(session, from_login="mei", to_login="lan", actor=ADMIN) == 3
    assert owners(session, owned) == ["lan"] * 5
    event = session.execute(
        select(AuditEvent).where(AuditEvent.action == "contact.handover")
    ).scalar_one()
    assert event.detail["count"] == 3 and event.detail["contact_ids"] == owned[:3]


def test_hand_over_a_selection_only_of_ones_own(session: Session, owned: list[int]) -> None:
    # owned[3] belongs to lan, not mei: it is not mei's to hand over.
    moved = handover(
        session, from_login="mei", to_login="lan", actor=ADMIN, contact_ids=[owned[0], owned[3]]
    )
    assert moved == 1
    assert owners(session, owned) == ["lan", "mei", "mei", "lan", "lan"]


def test_refusals(session: Session, owned: list[int]) -> None:
    with pytest.raises(Invalid, match="someone else"):
        handover(session, from_login="mei", to_login="mei", actor=ADMIN)
    with pytest.raises(NotFound):
        handover(session, from_login="mei", to_login="nobody", actor=ADMIN)
    disable_staff(session, login="gone", actor=ADMIN)
    with pytest.raises(Invalid, match="disabled"):
        handover(session, from_login="mei", to_login="gone", actor=ADMIN)
    with pytest.raises(Forbidden):
        handover(session, from_login="mei", to_login="lan", actor=Actor("v", role="viewer"))


def test_a_merged_id_names_its_survivor(session: Session, owned: list[int]) -> None:
    survivor = service.get_by_ref(session, owned[0])
    merged = service.add_identity(session, contact=survivor, ref="external_id:c1", actor=ADMIN)
    assert merged.id == owned[0]
    # owned[1] was absorbed into owned[0]: handing it over moves the survivor.
    assert (
        handover(session, from_login="mei", to_login="lan", actor=ADMIN, contact_ids=[owned[1]])
        == 1
    )
    assert service.profile(session, service.get_by_ref(session, owned[0]))["owner"] == "lan"
