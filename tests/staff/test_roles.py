"""Each role is refused what it may not do, in the services the API and console share."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from siyu.contacts import search, service
from siyu.errors import Forbidden
from siyu.kit.actor import Actor
from siyu.staff.models import StaffUser
from siyu.staff.service import create_api_key, create_staff, disable_staff

ADMIN = Actor.cli()


@pytest.fixture
def team(session: Session) -> dict[str, StaffUser]:
    return {
        login: create_staff(session, login=login, role=role, actor=ADMIN)
        for login, role in (
            ("boss", "admin"),
            ("ops", "operator"),
            ("mei", "staff"),
            ("lan", "staff"),
            ("eye", "viewer"),
        )
    }


def as_actor(staff: StaffUser) -> Actor:
    return Actor(f"staff:{staff.id}", staff_id=staff.id, role=staff.role)


@pytest.fixture
def customers(session: Session, team: dict[str, StaffUser]) -> dict[str, int]:
    mine = service.create_contact(
        session, actor=ADMIN, identities=["phone:13800138001"], name="美的客户", owner="mei"
    )
    theirs = service.create_contact(
        session, actor=ADMIN, identities=["phone:13800138002"], name="兰的客户", owner="lan"
    )
    return {"mine": mine.id, "theirs": theirs.id}


def test_staff_see_and_annotate_only_their_own_customers(
    session: Session, team: dict[str, StaffUser], customers: dict[str, int]
) -> None:
    mei = as_actor(team["mei"])
    listed = search.list_contacts(session, actor=mei).items
    assert [c["id"] for c in listed] == [customers["mine"]]
    mine = service.get_by_ref(session, customers["mine"], mei)
    service.add_note(session, contact=mine, body="喜欢清爽型", actor=mei)
    service.add_tags(session, contact=mine, tags=["VIP"], actor=mei)
    with pytest.raises(Forbidden, match="another staff member"):
        service.get_by_ref(session, customers["theirs"], mei)
    theirs = service.get_by_ref(session, customers["theirs"])
    for attempt in (
        lambda: service.add_note(session, contact=theirs, body="x", actor=mei),
        lambda: service.add_tags(session, contact=theirs, tags=["VIP"], actor=mei),
    ):
        with pytest.raises(Forbidden):
            attempt()
    # Not even on their own customers may staff change the profile or identities.
    with pytest.raises(Forbidden, match="may not change customers"):
        service.update_contact(session, contact=mine, actor=mei, changes={"name": "x"})
    with pytest.raises(Forbidden):
        service.add_identity(session, contact=mine, ref="email:a@b.cn", actor=mei)
    with pytest.raises(Forbidden, match="may not create"):
        service.create_contact(session, actor=mei, identities=["phone:13800138009"])


def test_viewers_read_everything_and_change_nothing(
    session: Session, team: dict[str, StaffUser], customers: dict[str, int]
) -> None:
    eye = as_actor(team["eye"])
    assert len(search.list_contacts(session, actor=eye).items) == 2
    contact = service.get_by_ref(session, customers["theirs"], eye)
    changes = (
        lambda: service.add_note(session, contact=contact, body="x", actor=eye),
        lambda: service.add_tags(session, contact=contact, tags=["x"], actor=eye),
        lambda: service.remove_tag(session, contact=contact, tag="x", actor=eye),
        lambda: service.update_contact(session, contact=contact, actor=eye, changes={"city": "x"}),
        lambda: service.set_consent(
            session, contact=contact, channel="sms", granted=True, actor=eye
        ),
        lambda: service.remove_identity(
            session, contact=contact, ref="phone:13800138002", actor=eye
        ),
        lambda: service.create_contact(session, actor=eye, identities=[]),
    )
    for change in changes:
        with pytest.raises(Forbidden, match="viewer role may not"):
            change()


def test_only_admins_manage_staff_and_keys(session: Session, team: dict[str, StaffUser]) -> None:
    for login in ("ops", "mei", "eye"):
        actor = as_actor(team[login])
        with pytest.raises(Forbidden, match="manage staff"):
            create_staff(session, login=f"new-{login}", actor=actor)
        with pytest.raises(Forbidden):
            disable_staff(session, login="lan", actor=actor)
        with pytest.raises(Forbidden):
            create_api_key(session, name="k", scopes=["read"], actor=actor)
    boss = as_actor(team["boss"])
    create_staff(session, login="newbie", actor=boss)
    create_api_key(session, name="k", scopes=["read"], actor=boss)


def test_operators_change_every_customer(
    session: Session, team: dict[str, StaffUser], customers: dict[str, int]
) -> None:
    ops = as_actor(team["ops"])
    for contact_id in customers.values():
        contact = service.get_by_ref(session, contact_id, ops)
        service.update_contact(session, contact=contact, actor=ops, changes={"city": "杭州"})
        service.add_note(session, contact=contact, body="回访", actor=ops)
    created = service.create_contact(session, actor=ops, identities=["phone:13800138003"])
    assert created.id


def test_staff_see_only_their_customers_orders(
    session: Session, team: dict[str, StaffUser], customers: dict[str, int], tmp_path: Path
) -> None:
    from siyu.contacts import orders
    from siyu.ingest.service import import_file

    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,platform,placed_at,status,total,currency,customer\n"
        "M1,offline,2024-01-05,completed,10,CNY,phone:13800138001\n"
        "L1,offline,2024-01-06,completed,20,CNY,phone:13800138002\n",
        encoding="utf-8",
    )
    import_file(session, path)
    mei = as_actor(team["mei"])
    seen = orders.list_orders(session, actor=mei).items
    assert [o["platform_order_id"] for o in seen] == ["M1"]
    everything = orders.list_orders(session, actor=as_actor(team["eye"])).items
    assert sorted(o["platform_order_id"] for o in everything) == ["L1", "M1"]
    theirs = next(o["id"] for o in everything if o["platform_order_id"] == "L1")
    with pytest.raises(Forbidden):
        orders.get_order(session, theirs, mei)
