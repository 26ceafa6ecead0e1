"""Staff users (who own customers and act in the console) and API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db.base import Base, BigId, IdMixin
from siyu.db.types import UTCDateTime, utcnow

ROLES = ("admin", "operator", "staff", "viewer")
SCOPES = ("read", "write", "admin")


class StaffUser(IdMixin, Base):
    __tablename__ = "staff_user"

    login: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16), default="staff")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Failed sign-ins since the last good one; they slow, then lock, password guessing.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApiKey(IdMixin, Base):
    __tablename__ = "staff_api_key"

    name: Mapped[str] = mapped_column(String(120))
    # The first characters of the key, shown in lists so people can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    # SHA-256 of the whole key: keys are long random strings, so a slow hash buys nothing.
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(64), default="read")
    created_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def scope_list(self) -> list[str]:
        return [s for s in self.scopes.split(",") if s]
