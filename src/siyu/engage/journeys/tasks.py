"""Journey work in the worker: reading triggers and advancing enrolments (pollers, every loop),
and the clock (date triggers, fixed moments) and the goal sweep (periodic jobs)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from siyu.db.types import utcnow
from siyu.engage.journeys import engine, triggers
from siyu.engage.journeys.models import EngageJourney
from siyu.worker.models import Job
from siyu.worker.runner import handler, poller
from siyu.worker.scheduler import every

CLOCK_JOB = "journeys.clock"
GOALS_JOB = "journeys.goals"
# A birthday fires within a minute of its hour; a fixed moment within a minute of it.
CLOCK_EVERY = timedelta(minutes=1)
# Goals are checked before every step anyway; the sweep only ends long waits early.
GOALS_EVERY = timedelta(minutes=15)


@poller("journeys.triggers")
def read_triggers(session: Session) -> int:
    now = utcnow()
    return triggers.read_events(session, now=now) + triggers.read_orders(session, now=now)


@poller("journeys.advance")
def advance(session: Session) -> int:
    return engine.advance(session, now=utcnow())


@handler(CLOCK_JOB)
def run_clock(session: Session, job: Job, bind: Engine) -> dict[str, Any]:
    return {"entered": triggers.run_clock(session, now=utcnow())}


@handler(GOALS_JOB)
def run_goals(session: Session, job: Job, bind: Engine) -> dict[str, Any]:
    now = utcnow()
    journeys = session.scalars(select(EngageJourney).where(EngageJourney.state == "active"))
    return {"goal_reached": sum(engine.sweep_goals(session, journey=j, now=now) for j in journeys)}


every(CLOCK_JOB, CLOCK_EVERY)
every(GOALS_JOB, GOALS_EVERY)
