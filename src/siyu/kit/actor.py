"""Who is acting: a staff member, an API key, the CLI or the system. Written into the audit log."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    label: str
    staff_id: int | None = None
    # admin, operator, staff or viewer (siyu.staff.permissions says what each may do). The
    # command line and the system act with full rights: they run on the server itself.
    role: str = "admin"

    @classmethod
    def cli(cls) -> Actor:
        return cls("cli")

    @classmethod
    def system(cls) -> Actor:
        return cls("system")
