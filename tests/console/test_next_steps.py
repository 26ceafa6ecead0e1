"""The customer 360's next steps panel and its one click into a journey."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.contacts import rollups
from siyu.contacts.models import Contact
from siyu.db.types import utcnow
from siyu.engage.journeys import ready, service
from siyu.engage.journeys.models import EngageJourneyEnrolment
from siyu.engage.models import EngageChannel
from siyu.kit.actor import Actor
from tests.analytics.test_rfm import contact, order
from tests.console.conftest import Browser, make_staff


def due(session: Session) -> int:
    person = contact(session, "阿梅")
    for days in (95, 65, 35):
        order(session, person, utcnow() - timedelta(days=days), 10_000)
    session.flush()
    rollups.recompute(session, [person.id])
    return person.id


def test_the_panel_offers_the_journey_and_one_click_starts_it(
    signed_in: Browser, session: Session
) -> None:
    person = due(session)
    page = signed_in.get(f"/customers/{person}", headers={"Accept-Language": "en"}).text
    assert "Due to reorder" in page
    assert "35 days since the last purchase; usually buys every 30 days." in page
    assert "No journey is switched on for this yet." in page
    channel = EngageChannel(name="mail", kind="email", config={})
    session.add(channel)
    session.flush()
    journey = ready.create_ready(
        session, actor=Actor.cli(), key="repurchase", channel_id=channel.id
    )
    service.activate(session, actor=Actor.cli(), journey=journey)
    zh = signed_in.get(f"/customers/{person}").text
    assert "该补货了" in zh and journey.name in zh
    done = signed_in.post(
        f"/customers/{person}/enrol", data={"journey_id": str(journey.id), "step": "reorder_due"}
    )
    assert done.status_code == 303 and done.headers["location"].endswith("#next-steps")
    assert (
        session.scalar(
            select(EngageJourneyEnrolment.state).where(EngageJourneyEnrolment.contact_id == person)
        )
        == "active"
    )
    again = signed_in.post(
        f"/customers/{person}/enrol",
        data={"journey_id": str(journey.id)},
        headers={"HX-Request": "true"},
    )
    assert again.status_code == 204 and "siyu:toast" in again.headers["hx-trigger"]


def test_staff_see_the_steps_but_no_button(browser: Browser, session: Session) -> None:
    clerk = make_staff(session, "xiao.mei", "staff")
    person = due(session)
    session.get_one(Contact, person).owner_id = clerk.id
    session.flush()
    assert browser.sign_in("xiao.mei").status_code == 303
    page = browser.get(f"/customers/{person}", headers={"Accept-Language": "en"}).text
    assert "Due to reorder" in page and "Start the journey" not in page
