"""Staff users and API keys."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audit import service as audit
from siyu.db.types import utcnow
from siyu.errors import Conflict, Invalid, NotFound, Unauthorized
from siyu.kit.actor import Actor
from siyu.kit.keys import KeyKind, matches
from siyu.kit.normalize import normalise_email, normalise_phone
from siyu.kit.pagination import is_id
from siyu.staff.models import ROLES, SCOPES, ApiKey, StaffUser
from siyu.staff.permissions import allow

_hasher = PasswordHasher()
API_KEY = KeyKind("sy_")


def create_staff(
    session: Session,
    *,
    login: str,
    actor: Actor,
    name: str = "",
    role: str = "staff",
    password: str | None = None,
    email: str | None = None,
    phone: str | None = None,
) -> StaffUser:
    allow(actor, "manage")
    login = login.strip()
    if not login:
        raise Invalid("a staff member needs a login")
    if role not in ROLES:
        raise Invalid(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if session.execute(select(StaffUser.id).where(StaffUser.login == login)).first():
        raise Conflict(f"staff login {login!r} is taken")
    if password is not None and len(password) < 8:
        raise Invalid("a password needs at least 8 characters")
    # Stored normalised, so staff can sign in with any spelling of either.
    if email:
        email = normalise_email(email) or _invalid(f"{email!r} is not an e-mail address")
    if phone:
        phone = normalise_phone(phone).e164 or _invalid(f"{phone!r} is not a phone number")
    for column, value in (("email", email), ("phone", phone)):
        if (
            value
            and session.execute(
                select(StaffUser.id).where(getattr(StaffUser, column) == value)
            ).first()
        ):
            raise Conflict(f"another staff member already has {column} {value}")
    staff = StaffUser(
        login=login,
        name=name or login,
        role=role,
        email=email,
        phone=phone,
        password_hash=hash_password(password) if password else None,
    )
    session.add(staff)
    session.flush()
    audit.record(
        session,
        actor=actor.label,
        action="staff.create",
        subject_type="staff",
        subject_id=staff.id,
        login=login,
        role=role,
    )
    return staff


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def needs_rehash(staff: StaffUser) -> bool:
    return bool(staff.password_hash) and _hasher.check_needs_rehash(staff.password_hash or "")


# Verified when nobody matches a sign-in, so a wrong login costs what a wrong password does.
_DUMMY_HASH = _hasher.hash("no such account")


def verify_password(staff: StaffUser | None, password: str) -> bool:
    stored = staff.password_hash if staff else None
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def set_password(session: Session, *, login: str, password: str, actor: Actor) -> StaffUser:
    """An administrator sets a staff member's password (e.g. a forgotten one)."""
    allow(actor, "manage")
    staff = get_staff(session, login)
    if len(password) < 8:
        raise Invalid("a password needs at least 8 characters")
    staff.password_hash = hash_password(password)
    staff.failed_logins = 0
    staff.locked_until = None
    audit.record(
        session,
        actor=actor.label,
        action="staff.password_set",
        subject_type="staff",
        subject_id=staff.id,
    )
    return staff


def _invalid(message: str) -> str:
    raise Invalid(message)


def list_staff(session: Session, *, actor: Actor | None = None) -> list[StaffUser]:
    """Every staff account; with `actor`, only for those who manage staff (the settings page)."""
    if actor is not None:
        allow(actor, "manage")
    return list(session.execute(select(StaffUser).order_by(StaffUser.id)).scalars())


def get_staff_by_id(session: Session, staff_id: int) -> StaffUser:
    staff = session.get(StaffUser, staff_id) if is_id(staff_id) else None
    if staff is None:
        raise NotFound(f"no staff member with id {staff_id}")
    return staff


def get_staff(session: Session, login: str) -> StaffUser:
    staff = session.execute(select(StaffUser).where(StaffUser.login == login)).scalar_one_or_none()
    if staff is None:
        raise NotFound(f"no staff member with login {login!r}")
    return staff


def _not_self(staff: StaffUser, actor: Actor, what: str) -> None:
    # An administrator cannot lock themselves out, so whoever acts in the console remains.
    if actor.staff_id is not None and actor.staff_id == staff.id:
        raise Conflict(f"you cannot {what} your own account; ask another administrator")


def disable_staff(session: Session, *, login: str, actor: Actor) -> StaffUser:
    allow(actor, "manage")
    staff = get_staff(session, login)
    _not_self(staff, actor, "disable")
    if staff.disabled_at is None:
        staff.disabled_at = utcnow()
        audit.record(
            session,
            actor=actor.label,
            action="staff.disable",
            subject_type="staff",
            subject_id=staff.id,
            login=login,
        )
    return staff


def enable_staff(session: Session, *, login: str, actor: Actor) -> StaffUser:
    """Let a disabled staff member sign in again (their keys work again too)."""
    allow(actor, "manage")
    staff = get_staff(session, login)
    if staff.disabled_at is not None:
        staff.disabled_at = None
        audit.record(
            session,
            actor=actor.label,
            action="staff.enable",
            subject_type="staff",
            subject_id=staff.id,
            login=login,
        )
    return staff


def set_role(session: Session, *, login: str, role: str, actor: Actor) -> StaffUser:
    allow(actor, "manage")
    if role not in ROLES:
        raise Invalid(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    staff = get_staff(session, login)
    if staff.role != role:
        _not_self(staff, actor, "change the role of")
        audit.record(
            session,
            actor=actor.label,
            action="staff.role",
            subject_type="staff",
            subject_id=staff.id,
            login=login,
            before=staff.role,
            after=role,
        )
        staff.role = role
    return staff


def create_api_key(
    session: Session, *, name: str, scopes: list[str], actor: Actor
) -> tuple[ApiKey, str]:
    """A new key; the returned secret is shown once and only its hash is kept."""
    allow(actor, "manage")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise Invalid(
            f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(scopes) or 'none'}"
        )
    secret, prefix, secret_hash = API_KEY.new()
    key = ApiKey(
        name=name or "key",
        prefix=prefix,
        secret_hash=secret_hash,
        scopes=",".join(s for s in SCOPES if s in scopes),
        created_by_id=actor.staff_id,
    )
    session.add(key)
    session.flush()
    audit.record(
        session,
        actor=actor.label,
        action="apikey.create",
        subject_type="api_key",
        subject_id=key.id,
        name=key.name,
        scopes=key.scopes,
    )
    return key, secret


def list_api_keys(session: Session, *, actor: Actor | None = None) -> list[ApiKey]:
    """Every key (never its secret); with `actor`, only for those who manage keys."""
    if actor is not None:
        allow(actor, "manage")
    return list(session.execute(select(ApiKey).order_by(ApiKey.id)).scalars())


def revoke_api_key(session: Session, *, key_id_or_prefix: str, actor: Actor) -> ApiKey:
    allow(actor, "manage")
    text = key_id_or_prefix.strip()
    if text.isdigit():
        key = session.get(ApiKey, int(text)) if text.isascii() and is_id(int(text)) else None
    else:
        key = session.execute(select(ApiKey).where(ApiKey.prefix == text)).scalar_one_or_none()
    if key is None:
        raise NotFound(f"no API key {text!r}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit.record(
            session,
            actor=actor.label,
            action="apikey.revoke",
            subject_type="api_key",
            subject_id=key.id,
        )
    return key


def authenticate_key(session: Session, secret: str) -> ApiKey:
    prefix = API_KEY.lookup(secret)
    if prefix is None:
        raise Unauthorized("not a Siyu API key")
    key = session.execute(select(ApiKey).where(ApiKey.prefix == prefix)).scalar_one_or_none()
    if key is None or key.revoked_at is not None:
        raise Unauthorized("unknown or revoked API key")
    if not matches(key.secret_hash, secret):
        raise Unauthorized("unknown or revoked API key")
    if key.created_by_id is not None:
        creator = session.get(StaffUser, key.created_by_id)
        # A departed staff member's keys leave with them.
        if creator is not None and creator.disabled_at is not None:
            raise Unauthorized("this API key's owner is disabled")
    return key


def ensure_first_admin(session: Session) -> tuple[str, str] | None:
    """Create an admin with a random password when there is none; returns (login, password)."""
    if session.execute(select(StaffUser.id).where(StaffUser.role == "admin")).first():
        return None
    password = secrets.token_urlsafe(12)
    create_staff(
        session,
        login="admin",
        name="Administrator",
        role="admin",
        password=password,
        actor=Actor.system(),
    )
    return "admin", password
