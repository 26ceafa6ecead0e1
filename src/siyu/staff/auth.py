"""Staff sign-in: by login, e-mail or phone, with growing delays and a temporary lock.

The outcome of a failed attempt must be stored even though the attempt fails, so `sign_in`
returns a result instead of raising; the edge commits it and then shows the message.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from siyu.audit import service as audit
from siyu.db.types import utcnow
from siyu.errors import Invalid, Unauthorized
from siyu.kit.actor import Actor
from siyu.kit.normalize import normalise_email, normalise_phone
from siyu.staff.models import StaffUser
from siyu.staff.service import hash_password, needs_rehash, verify_password

# Failures allowed before each further attempt must wait; the wait doubles each time.
FREE_ATTEMPTS = 3
FIRST_DELAY = timedelta(seconds=1)
# After this many failures in a row the account is locked for LOCK_FOR.
LOCK_AFTER = 10
LOCK_FOR = timedelta(minutes=15)
WRONG = "wrong login or password"


@dataclass
class SignIn:
    staff: StaffUser | None
    error: str | None = None
    retry_after: int | None = None  # seconds, when the account is throttled or locked

    @property
    def ok(self) -> bool:
        return self.staff is not None and self.error is None


def find_staff(session: Session, identifier: str) -> StaffUser | None:
    """The staff member a login, e-mail address or phone number (any spelling) names."""
    text = identifier.strip()
    if not text:
        return None
    conditions = [StaffUser.login == text]
    if email := normalise_email(text):
        conditions.append(StaffUser.email == email)
    if phone := normalise_phone(text).e164:
        conditions.append(StaffUser.phone == phone)
    return session.execute(select(StaffUser).where(or_(*conditions)).limit(1)).scalar()


def delay_after(failures: int) -> timedelta | None:
    """How long to wait after this many failures in a row (None: no wait)."""
    if failures >= LOCK_AFTER:
        return LOCK_FOR
    if failures < FREE_ATTEMPTS:
        return None
    return FIRST_DELAY * 2 ** (failures - FREE_ATTEMPTS)


def sign_in(
    session: Session, *, identifier: str, password: str, now: datetime | None = None
) -> SignIn:
    now = now or utcnow()
    staff = find_staff(session, identifier)
    if staff is None:
        # Same answer and about the same time as a wrong password: no probing for logins.
        verify_password(None, password)
        return SignIn(None, WRONG)
    if staff.locked_until and staff.locked_until > now:
        wait = math.ceil((staff.locked_until - now).total_seconds())
        return SignIn(None, f"too many failed sign-ins; try again in {wait} s", wait)
    if not verify_password(staff, password):
        staff.failed_logins += 1
        delay = delay_after(staff.failed_logins)
        staff.locked_until = now + delay if delay else None
        if staff.failed_logins == LOCK_AFTER:
            audit.record(
                session,
                actor="system",
                action="staff.locked",
                subject_type="staff",
                subject_id=staff.id,
                failures=staff.failed_logins,
            )
        return SignIn(None, WRONG, int(delay.total_seconds()) if delay else None)
    if staff.disabled_at is not None:
        return SignIn(None, "this account is disabled; ask an administrator")
    staff.failed_logins = 0
    staff.locked_until = None
    staff.last_login_at = now
    if needs_rehash(staff):
        staff.password_hash = hash_password(password)
    return SignIn(staff)


def change_password(
    session: Session, *, staff: StaffUser, current: str, new: str, actor: Actor
) -> None:
    if not verify_password(staff, current):
        raise Unauthorized("the current password is wrong")
    if len(new) < 8:
        raise Invalid("a password needs at least 8 characters")
    if new == current:
        raise Invalid("the new password must differ from the current one")
    staff.password_hash = hash_password(new)
    audit.record(
        session,
        actor=actor.label,
        action="staff.password_change",
        subject_type="staff",
        subject_id=staff.id,
    )
