"""The customers list and the customer 360 in the browser: search, open, tag and note in place,
what a staff member (导购) may open, and how both pages fit a phone."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, Shots
from tests.browser.test_pages import PHONE, fits_the_width


def _number(contact_id: int) -> re.Pattern[str]:
    """#7 but not #70: the customer number shown under the name."""
    return re.compile(rf"#{contact_id}(?!\d)")


def test_search_a_customer_and_open_the_360(
    as_admin: Page, live_server: Server, shots: Shots
) -> None:
    page = as_admin
    customer = live_server.people.showcase
    page.goto("/customers")
    expect(page.get_by_role("heading", name="Customers", exact=True)).to_be_visible()
    rows = page.locator(".table tbody tr")
    expect(rows.first).to_be_visible()
    if shots.for_readme:  # the best customers make a better picture than the newest
        page.goto("/customers?sort=total_spent")
        shots.readme("customers")
        page.goto("/customers")

    # Typing searches in place (HTMX) and puts the search in the address bar; a phone number
    # as people type it, without +86.
    typed = customer.phone.removeprefix("+86")
    page.get_by_label("Search customers").press_sequentially(typed)
    expect(page).to_have_url(re.compile(rf"q={typed}"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(customer.name)
    expect(rows.first).to_contain_text(_number(customer.id))

    page.get_by_role("link", name=customer.name).click()
    expect(page).to_have_url(f"{live_server.url}/customers/{customer.id}")
    expect(page.get_by_role("heading", name=customer.name, level=1)).to_be_visible()
    main = page.locator("main")
    expect(main).to_contain_text(typed)
    expect(main.get_by_role("heading", name="Tags")).to_be_visible()
    expect(main.get_by_role("heading", name="Staff notes")).to_be_visible()
    shots.readme("customer-360")
    shots.take()

    page.locator(".breadcrumb").get_by_role("link", name="Customers").click()
    expect(page).to_have_url(f"{live_server.url}/customers")


def test_tag_and_note_appear_in_place_and_in_the_audit_log(
    page: Page, sign_in: Callable[..., Page], live_server: Server, shots: Shots
) -> None:
    """A staff member on a customer of their own; the page is never reloaded."""
    contact_id = live_server.people.own_customer
    sign_in(live_server.people.staff, next=f"/customers/{contact_id}")
    expect(page).to_have_url(f"{live_server.url}/customers/{contact_id}")
    page.evaluate("window.notReloaded = true")

    tags = page.locator("#tags")
    tags.get_by_label("New tag").fill("跟进:浏览器回访")
    tags.get_by_role("button", name="Add tag").click()
    expect(page.locator("#tags .tag", has_text="浏览器回访")).to_be_visible()
    expect(page.locator("#tags")).to_contain_text("跟进")  # the group
    expect(page.locator(".toast", has_text="Tag added.")).to_be_visible()

    notes = page.locator("#notes")
    notes.get_by_label("New note").fill("电话回访：想要清爽型的面霜，下周到店试用。")
    notes.get_by_role("button", name="Add note").click()
    newest = page.locator("#notes .notes li").first
    expect(newest).to_contain_text("想要清爽型的面霜")
    expect(newest).to_contain_text(live_server.people.staff)
    expect(page.get_by_label("New note")).to_have_value("")
    expect(page.locator(".toast", has_text="Note added.")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True
    shots.take("tagged")

    # Both survive a reload, and the administrator's audit log shows who did them.
    page.reload()
    expect(page.locator("#tags .tag", has_text="浏览器回访")).to_be_visible()
    expect(page.locator("#notes")).to_contain_text("想要清爽型的面霜")
    page.context.clear_cookies()
    sign_in(live_server.people.admin, next=f"/audit?subject_type=contact&subject_id={contact_id}")
    events = page.locator("#audit-events tbody tr")  # newest first
    expect(events.nth(0)).to_contain_text("Note added")
    expect(events.nth(0)).to_contain_text("张伟")
    expect(events.nth(1)).to_contain_text("Tags added")
    expect(events.nth(1)).to_contain_text("浏览器回访")


def test_staff_cannot_open_another_staff_members_customer(
    page: Page, sign_in: Callable[..., Page], live_server: Server
) -> None:
    people = live_server.people
    sign_in(people.staff, next=f"/customers/{people.own_customer}")
    expect(page.get_by_role("heading", name="Tags")).to_be_visible()

    response = page.goto(f"/customers/{people.others_customer}")
    assert response is not None and response.status == 403
    expect(page.locator(".error-code")).to_have_text("403")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_role("link", name="Go to the home page")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Staff notes")

    # Their list holds only their own customers.
    page.goto("/customers")
    rows = page.locator(".table tbody tr")
    expect(rows.first).to_be_visible()
    expect(rows.filter(has_text=_number(people.own_customer))).to_have_count(1)
    expect(rows.filter(has_text=_number(people.others_customer))).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("王芳")  # the other staff member


@pytest.mark.browser_context(**PHONE)
def test_customers_and_the_360_fit_a_phone(as_admin: Page, live_server: Server) -> None:
    page = as_admin
    page.goto("/customers")
    expect(page.locator(".table tbody tr").first).to_be_visible()
    fits_the_width(page)
    page.goto(f"/customers/{live_server.people.showcase.id}")
    expect(page.get_by_role("heading", name=live_server.people.showcase.name)).to_be_visible()
    fits_the_width(page)
