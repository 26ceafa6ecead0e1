"""Handing customers over in the browser, and the audit log that records it."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.contacts.models import Contact
from siyu.db.session import make_engine
from siyu.staff.models import StaffUser
from tests.browser.conftest import Server, Shots

SOURCE, TARGET = "liuyang", "chenjing"  # demo staff no other test touches


def _owned_by(server: Server, login: str) -> int:
    """Read straight from the live server's database: what the page must agree with."""
    engine = make_engine(server.database_url)
    try:
        with Session(engine) as session:
            return session.execute(
                select(func.count())
                .select_from(Contact)
                .join(StaffUser, StaffUser.id == Contact.owner_id)
                .where(StaffUser.login == login)
            ).scalar_one()
    finally:
        engine.dispose()


def test_hand_all_customers_over_and_find_it_in_the_audit_log(
    as_admin: Page, live_server: Server, shots: Shots
) -> None:
    page = as_admin
    moving, already = _owned_by(live_server, SOURCE), _owned_by(live_server, TARGET)
    assert moving > 0

    page.goto("/handover")
    expect(page.get_by_role("heading", name="Hand customers over")).to_be_visible()
    source = page.get_by_label("From", exact=True)
    expect(source.locator(f"option[value={SOURCE}]")).to_contain_text(f"{moving} customers")
    source.select_option(SOURCE)
    page.get_by_label("To", exact=True).select_option(TARGET)
    page.get_by_label("All of their customers").check()
    page.get_by_role("button", name="Preview the handover").click()

    expect(page.get_by_role("heading", name="Check the handover")).to_be_visible()
    expect(page.locator(".figure", has_text="Customers who move")).to_contain_text(str(moving))
    expect(page.get_by_role("table")).to_be_visible()
    assert _owned_by(live_server, SOURCE) == moving  # a preview moves nothing
    shots.take()

    # The confirmation is a native dialog (JavaScript on) asking the same question.
    questions: list[str] = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name=f"Move {moving} customers").click()
    expect(page).to_have_url(f"{live_server.url}/handover")
    expect(page.locator(".toast")).to_contain_text(f"{moving} customers moved from")
    assert len(questions) == 1 and f"Move {moving} customers" in questions[0]
    assert _owned_by(live_server, SOURCE) == 0
    assert _owned_by(live_server, TARGET) == already + moving
    expect(
        page.get_by_label("From", exact=True).locator(f"option[value={SOURCE}]")
    ).to_contain_text("0 customers")

    page.goto("/audit")
    page.get_by_label("Action", exact=True).select_option(label="Customers handed over")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"action=contact\.handover"))
    row = page.locator("#audit-events tbody tr").first
    expect(row).to_contain_text("Customers handed over")
    expect(row).to_contain_text("周敏")
    expect(row).to_contain_text("Staff member")  # the subject: the one who handed over
    details = row.locator("dl.kv")
    expect(details.locator("div", has_text="Taken over by")).to_contain_text(TARGET)
    expect(details.locator("div", has_text="Count")).to_contain_text(str(moving))


def test_staff_may_not_hand_customers_over(
    page: Page, sign_in: Callable[..., Page], live_server: Server
) -> None:
    sign_in(live_server.people.staff, next="/handover")
    expect(page.locator(".error-code")).to_have_text("403")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.locator(".error-card")).to_contain_text(
        "Only administrators and operators can hand customers over."
    )
