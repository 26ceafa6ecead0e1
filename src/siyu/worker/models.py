"""The jobs table: work written in the same transaction as the change that causes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db.base import Base, IdMixin
from siyu.db.types import JSONType, UTCDateTime, utcnow

JOB_STATES = ("queued", "running", "done", "failed")


class Job(IdMixin, Base):
    __tablename__ = "worker_job"
    __table_args__ = (
        Index("ix_worker_job_state_run_after", "state", "run_after"),
        # The scheduler asks when each periodic kind last ran.
        Index("ix_worker_job_kind_created_at", "kind", "created_at"),
    )

    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64), default="system")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WorkerProcess(Base):
    """A running worker's heartbeat. Messages a worker was sending when its heartbeat stopped
    are marked `unknown`: they may or may not have left, and are not sent twice."""

    __tablename__ = "worker_process"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
