"""The journey builder in the browser: a ready journey made in one click, a step added and a
branch filled in place, a problem shown at its step, saving and switching on."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.db.session import make_engine
from siyu.engage.models import EngageChannel
from tests.browser.conftest import Server, Shots

SETTLE_MS = 15_000


def _channel(database_url: str) -> None:
    engine = make_engine(database_url)
    with Session(engine) as session, session.begin():
        if session.scalar(select(EngageChannel.id).where(EngageChannel.name == "会员邮件")) is None:
            session.add(EngageChannel(name="会员邮件", kind="email", config={}))
    engine.dispose()


def test_ready_journey_edit_in_place_and_switch_on(
    as_admin: Page, live_server: Server, shots: Shots
) -> None:
    _channel(live_server.database_url)
    page = as_admin
    page.goto("/journeys")
    page.get_by_label("Journey", exact=True).select_option("welcome")
    page.get_by_role("button", name="Make it").click()
    expect(page.get_by_role("heading", name="新线索欢迎旅程", level=1)).to_be_visible()
    expect(page.locator('[data-step="has_ordered"]')).to_be_visible()

    # A wait added inside the branch's "no" side, redrawn in place.
    no_side = page.locator('[data-path="steps[2]"] .journey-branch-side').nth(1)
    no_side.get_by_role("button", name="+ Wait", exact=True).click()
    added = page.locator('[data-path="steps[2].no[1]"]')
    expect(added).to_be_visible(timeout=SETTLE_MS)
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-settling')")
    added.locator("input[name$=':duration']").fill("soon")
    page.get_by_role("button", name="Save journey").click()
    expect(page.locator('.journey-problem[data-path="steps[2].no[1].duration"]')).to_be_visible()
    shots.take("problem at its step")
    page.locator('[data-path="steps[2].no[1]"] input[name$=":duration"]').fill("1d")
    page.get_by_role("button", name="Save journey").click()
    expect(page.locator(".toast")).to_contain_text("Journey saved.")
    page.get_by_role("button", name="Switch on").click()
    expect(page.locator(".page-header .badge, .badge").first).to_have_text("Active")
    page.goto("/journeys")
    expect(page.get_by_role("link", name="新线索欢迎旅程")).to_be_visible()
