"""What staff could do next for one customer, from the figures: due to reorder, slipping away,
valuable but not reachable, a new lead who has not bought — each with the journey that does it.

The rules, in the order shown:
- `reorder_due`: two or more purchase days, and the days since the last one have reached the
  customer's usual gap (the median of their gaps) but not three times it;
- `slipping_away`: the lifetime value fit gives P(alive) under SLIPPING_P_ALIVE, or the stage is
  at risk or churned, or the last purchase is more than three usual gaps ago;
- `ask_consent`: spent at least HIGH_VALUE_FEN (or a lifetime value that high) and has no
  marketing consent on any channel — nothing may be sent until they agree;
- `welcome`: a lead with no purchase, in the pool for at most WELCOME_DAYS.

A step names the ready journey that fits it (siyu.engage.journeys.ready) and offers the active
journeys, that one first when it is switched on; enrolling goes through the journey's own
re-entry rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from statistics import median
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.analytics.clv.models import ClvPrediction
from siyu.analytics.purchases import to_day
from siyu.analytics.scope import ORDER, Scope, purchase_filter
from siyu.audit import service as audit
from siyu.contacts.models import Contact, ContactConsent
from siyu.db.types import utcnow
from siyu.engage.journeys import engine
from siyu.engage.journeys.models import EngageJourney
from siyu.engage.journeys.ready import READY
from siyu.errors import Conflict, Invalid, NotFound
from siyu.kit.actor import Actor
from siyu.kit.timeutil import local_zone
from siyu.staff.permissions import allow, check_contact

SLIPPING_P_ALIVE = 0.5
HIGH_VALUE_FEN = 100_000  # ¥1,000
WELCOME_DAYS = 30
# Which ready journey does each step's work.
JOURNEY_FOR = {"reorder_due": "repurchase", "slipping_away": "win_back", "welcome": "welcome"}


@dataclass
class NextStep:
    key: str
    # Facts the console words the step with: days since, usual gap, P(alive), spent …
    facts: dict[str, Any] = field(default_factory=dict)
    journey: str | None = None  # the ready journey's key
    journeys: list[dict[str, Any]] = field(default_factory=list)  # active ones, best first


def _purchase_days(session: Session, contact_id: int) -> list[int]:
    zone = local_zone()
    times = session.scalars(
        select(ORDER.c.placed_at).where(ORDER.c.contact_id == contact_id, *purchase_filter(Scope()))
    )
    return sorted({to_day(t.astimezone(zone)) for t in times})


def _consented(session: Session, contact_id: int) -> bool:
    granted = select(ContactConsent.id).where(
        ContactConsent.contact_id == contact_id, ContactConsent.granted.is_(True)
    )
    return session.scalar(granted.limit(1)) is not None


def _active_journeys(session: Session, ready_key: str | None) -> list[dict[str, Any]]:
    """Switched-on journeys, the one made from the ready journey (by its name or
    description) first."""
    ready = READY.get(ready_key) if ready_key else None
    found = []
    for journey in session.scalars(
        select(EngageJourney).where(EngageJourney.state == "active").order_by(EngageJourney.id)
    ):
        fits = ready is not None and (
            journey.name.startswith(ready.name) or journey.description == ready.description
        )
        found.append({"id": journey.id, "name": journey.name, "fits": fits})
    return sorted(found, key=lambda j: not j["fits"])


def next_steps(
    session: Session, *, actor: Actor, contact: Contact, now: datetime | None = None
) -> list[NextStep]:
    check_contact(actor, contact, "read")
    now = now or utcnow()
    today = to_day(now)
    days = _purchase_days(session, contact.id)
    gaps = [b - a for a, b in pairwise(days)]
    usual = median(gaps) if gaps else None
    since_last = today - days[-1] if days else None
    prediction = session.get(ClvPrediction, contact.id)
    steps: list[NextStep] = []
    if usual and since_last is not None and usual <= since_last < 3 * usual:
        steps.append(
            NextStep("reorder_due", {"days_since": since_last, "usual_days": round(usual)})
        )
    slipping: dict[str, Any] = {}
    if prediction is not None and prediction.p_alive < SLIPPING_P_ALIVE:
        slipping["p_alive"] = prediction.p_alive
    if contact.lifecycle_stage in ("at_risk", "churned"):
        slipping["stage"] = contact.lifecycle_stage
    if usual and since_last is not None and since_last >= 3 * usual:
        slipping.update(days_since=since_last, usual_days=round(usual))
    if slipping and days:
        steps.append(NextStep("slipping_away", slipping))
    value = max(contact.total_spent or 0, int(prediction.clv) if prediction else 0)
    if value >= HIGH_VALUE_FEN and not _consented(session, contact.id):
        steps.append(NextStep("ask_consent", {"value": value}))
    if not days and contact.lifecycle_stage == "lead":
        joined = max(0, (now - contact.created_at).days) if contact.created_at else None
        if joined is not None and joined <= WELCOME_DAYS:
            steps.append(NextStep("welcome", {"days_in_pool": joined}))
    for step in steps:
        step.journey = JOURNEY_FOR.get(step.key)
        if step.journey:
            step.journeys = _active_journeys(session, step.journey)
    return steps


def enrol_now(
    session: Session,
    *,
    actor: Actor,
    contact: Contact,
    journey_id: int,
    reason: str = "",
    now: datetime | None = None,
) -> EngageJourney:
    """Start a switched-on journey for one customer, as its re-entry rule allows."""
    allow(actor, "reach")
    check_contact(actor, contact, "read")
    journey = session.get(EngageJourney, journey_id)
    if journey is None:
        raise NotFound(f"there is no journey {journey_id}")
    if journey.state != "active":
        raise Invalid(f"journey {journey.name!r} is not switched on")
    if not engine.enrol(session, journey=journey, contact_ids=[contact.id], now=now or utcnow()):
        raise Conflict(
            f"{contact.name or contact.id} is already in {journey.name!r} or may not enter it "
            "again yet"
        )
    audit.record(
        session,
        actor=actor.label,
        action="journey.enrol",
        subject_type="contact",
        subject_id=contact.id,
        journey_id=journey.id,
        journey=journey.name,
        reason=reason,
    )
    return journey
