"""Staff sign-in: any identifier spelling, growing delays, a temporary lock, password change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audit.models import AuditEvent
from siyu.db.types import utcnow
from siyu.errors import Conflict, Invalid, Unauthorized
from siyu.kit.actor import Actor
from siyu.staff.auth import LOCK_AFTER, LOCK_FOR, WRONG, change_password, delay_after, sign_in
from siyu.staff.models import StaffUser
from siyu.staff.service import create_staff, disable_staff

PASSWORD = "correct horse"


@pytest.fixture
def staff(session: Session) -> StaffUser:
    return create_staff(
        session,
        login="xiaomei",
        name="小美",
        role="staff",
        password=PASSWORD,
        email="Xiaomei@Example.com",
        phone="138 0013 8000",
        actor=Actor.cli(),
    )


@pytest.mark.parametrize(
    "identifier",
    ["xiaomei", "xiaomei@example.com", "XIAOMEI@example.com", "13800138000", "+86 138-0013-8000"],
)
def test_sign_in_by_login_email_or_phone(
    session: Session, staff: StaffUser, identifier: str
) -> None:
    result = sign_in(session, identifier=identifier, password=PASSWORD)
    assert result.ok and result.staff is staff
    assert staff.last_login_at is not None


def test_unknown_login_and_wrong_password_look_the_same(session: Session, staff: StaffUser) -> None:
    unknown = sign_in(session, identifier="nobody", password=PASSWORD)
    wrong = sign_in(session, identifier="xiaomei", password="wrong one")
    assert not unknown.ok and not wrong.ok
    assert unknown.error == wrong.error == WRONG
    assert staff.failed_logins == 1


def test_delays_grow_then_the_account_locks_and_unlocks(session: Session, staff: StaffUser) -> None:
    now = utcnow()
    waits = []
    for attempt in range(LOCK_AFTER):
        # Each attempt comes once the previous wait is over, as a patient guesser would.
        at = now + timedelta(hours=attempt)
        result = sign_in(session, identifier="xiaomei", password=f"guess {attempt}", now=at)
        waits.append(result.retry_after)
    assert waits[:2] == [None, None]
    assert waits[2:5] == [1, 2, 4]
    assert waits[-1] == LOCK_FOR.total_seconds()
    locked_at = now + timedelta(hours=LOCK_AFTER - 1)
    # While locked even the right password is refused, with the time left.
    blocked = sign_in(
        session, identifier="xiaomei", password=PASSWORD, now=locked_at + timedelta(minutes=5)
    )
    assert not blocked.ok and "try again in" in (blocked.error or "")
    assert 0 < (blocked.retry_after or 0) <= 600
    assert session.execute(
        select(AuditEvent).where(AuditEvent.action == "staff.locked")
    ).scalar_one()
    after = sign_in(
        session,
        identifier="xiaomei",
        password=PASSWORD,
        now=locked_at + LOCK_FOR + timedelta(seconds=1),
    )
    assert after.ok and staff.failed_logins == 0 and staff.locked_until is None


def test_delay_schedule() -> None:
    assert [delay_after(n) for n in range(3)] == [None, None, None]
    assert delay_after(3) == timedelta(seconds=1) and delay_after(4) == timedelta(seconds=2)
    assert delay_after(LOCK_AFTER) == LOCK_FOR


def test_disabled_staff_cannot_sign_in(session: Session, staff: StaffUser) -> None:
    disable_staff(session, login="xiaomei", actor=Actor.cli())
    result = sign_in(session, identifier="xiaomei", password=PASSWORD)
    assert not result.ok and "disabled" in (result.error or "")


def test_staff_without_password_cannot_sign_in(session: Session) -> None:
    create_staff(session, login="nopass", actor=Actor.cli())
    assert not sign_in(session, identifier="nopass", password="anything at all").ok


def test_change_password(session: Session, staff: StaffUser) -> None:
    with pytest.raises(Unauthorized):
        change_password(session, staff=staff, current="nope", new="new secret 1", actor=Actor.cli())
    with pytest.raises(Invalid, match="at least 8"):
        change_password(session, staff=staff, current=PASSWORD, new="short", actor=Actor.cli())
    change_password(session, staff=staff, current=PASSWORD, new="new secret 1", actor=Actor.cli())
    assert not sign_in(session, identifier="xiaomei", password=PASSWORD).ok
    assert sign_in(session, identifier="xiaomei", password="new secret 1").ok


def test_staff_email_and_phone_are_normalised_and_unique(
    session: Session, staff: StaffUser
) -> None:
    assert (staff.email, staff.phone) == ("xiaomei@example.com", "+8613800138000")
    with pytest.raises(Conflict, match="phone"):
        create_staff(session, login="other", phone="13800138000", actor=Actor.cli())
    with pytest.raises(Invalid, match="not an e-mail"):
        create_staff(session, login="third", email="not-an-address", actor=Actor.cli())


def test_keys_of_a_disabled_staff_member_stop_working(session: Session) -> None:
    from siyu.staff.service import authenticate_key, create_api_key

    boss = create_staff(session, login="boss", role="admin", actor=Actor.cli())
    key, secret = create_api_key(
        session,
        name="sync",
        scopes=["read"],
        actor=Actor("staff:boss", staff_id=boss.id, role="admin"),
    )
    assert authenticate_key(session, secret).id == key.id
    disable_staff(session, login="boss", actor=Actor.cli())
    with pytest.raises(Unauthorized, match="owner is disabled"):
        authenticate_key(session, secret)
