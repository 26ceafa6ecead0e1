"""The 360's next steps: each rule on a customer made for it, and one click into a journey."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.analytics.clv.models import ClvFit, ClvPrediction
from siyu.analytics.next_steps import enrol_now, next_steps
from siyu.audit.models import AuditEvent
from siyu.contacts import rollups
from siyu.contacts.consent import grant
from siyu.contacts.models import Contact
from siyu.db.types import utcnow
from siyu.engage.journeys import ready, service
from siyu.engage.journeys.models import EngageJourneyEnrolment
from siyu.engage.models import EngageChannel
from siyu.errors import Conflict, Forbidden, Invalid
from siyu.kit.actor import Actor
from tests.analytics.test_rfm import contact, order

ADMIN = Actor.cli()
NOW = utcnow()


def buyer(session: Session, days_ago: list[int], paid: int = 10_000) -> Contact:
    person = contact(session, "阿梅")
    for days in days_ago:
        order(session, person, NOW - timedelta(days=days), paid)
    session.flush()
    rollups.recompute(session, [person.id])
    session.refresh(person)
    return person


def keys(session: Session, person: Contact) -> dict[str, dict]:
    return {s.key: s.facts for s in next_steps(session, actor=ADMIN, contact=person, now=NOW)}


def test_due_to_reorder_at_the_customers_own_pace(session: Session) -> None:
    person = buyer(session, [95, 65, 35])  # every 30 days; the last 35 days ago
    assert keys(session, person) == {"reorder_due": {"days_since": 35, "usual_days": 30}}
    early = buyer(session, [80, 50, 20])
    assert keys(session, early) == {}  # not yet due


def test_slipping_away_by_the_gaps_the_stage_or_the_model(session: Session) -> None:
    gone = buyer(session, [200, 190, 180])  # every 10 days, silent for 180
    assert keys(session, gone)["slipping_away"]["days_since"] == 180
    modelled = buyer(session, [300])
    fit = ClvFit(unit="week", calibration_end=NOW.date(), horizon_days=90, months=12,
                 monthly_discount=0.01, customers=1, repeat_buyers=0, bgnbd={}, gamma_gamma={},
                 started_at=NOW, finished_at=NOW, seconds=0.1)  # fmt: skip
    session.add(fit)
    session.flush()
    session.add(ClvPrediction(contact_id=modelled.id, fit_id=fit.id, frequency=0, recency=0,
                              age=40, monetary=0, expected_purchases=0.01, p_alive=0.2,
                              expected_spend=0, clv=0, fitted_at=NOW))  # fmt: skip
    session.flush()
    assert keys(session, modelled)["slipping_away"]["p_alive"] == pytest.approx(0.2)


def test_valuable_but_not_reachable_until_consent(session: Session) -> None:
    person = buyer(session, [10], paid=150_000)
    assert keys(session, person)["ask_consent"] == {"value": 150_000}
    grant(session, contact=person, channel="sms", source="console", actor=ADMIN)
    assert "ask_consent" not in keys(session, person)


def test_a_new_lead_is_welcomed(session: Session) -> None:
    lead = contact(session, "新线索")
    lead.lifecycle_stage = "lead"
    session.flush()
    assert keys(session, lead) == {"welcome": {"days_in_pool": 0}}


def test_one_click_starts_the_matching_journey_once(session: Session) -> None:
    channel = EngageChannel(name="mail", kind="email", config={})
    session.add(channel)
    session.flush()
    journey = ready.create_ready(session, actor=ADMIN, key="repurchase", channel_id=channel.id)
    person = buyer(session, [95, 65, 35])
    [step] = next_steps(session, actor=ADMIN, contact=person, now=NOW)
    assert step.journeys == []  # a draft is not offered
    service.activate(session, actor=ADMIN, journey=journey)
    [step] = next_steps(session, actor=ADMIN, contact=person, now=NOW)
    assert step.journey == "repurchase"
    assert step.journeys[0] == {"id": journey.id, "name": journey.name, "fits": True}
    enrol_now(session, actor=ADMIN, contact=person, journey_id=journey.id, reason="reorder_due")
    enrolled = session.scalars(
        select(EngageJourneyEnrolment).where(EngageJourneyEnrolment.contact_id == person.id)
    ).all()
    assert [(e.journey_id, e.state) for e in enrolled] == [(journey.id, "active")]
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "journey.enrol")).one()
    assert event.detail["reason"] == "reorder_due"
    with pytest.raises(Conflict, match="already in"):
        enrol_now(session, actor=ADMIN, contact=person, journey_id=journey.id)
    with pytest.raises(Forbidden):
        enrol_now(session, actor=Actor("v", role="viewer"), contact=person, journey_id=journey.id)
    service.pause(session, actor=ADMIN, journey=journey)
    with pytest.raises(Invalid, match="not switched on"):
        enrol_now(session, actor=ADMIN, contact=person, journey_id=journey.id)
