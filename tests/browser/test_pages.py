"""Pages that mostly show things: home, settings, and how they fit a phone."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, Shots

# No is_mobile: mobile emulation widens the layout viewport to fit overflowing content, which
# would hide exactly what these tests look for.
PHONE = {"viewport": {"width": 375, "height": 812}}


def fits_the_width(page: Page) -> None:
    """Nothing pushes the page sideways: wide tables scroll inside their own box."""
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[1] == PHONE["viewport"]["width"]
    assert widths[0] <= widths[1], f"page is {widths[0]}px wide in a {widths[1]}px window"


def test_home_shows_the_pool_with_charts(as_admin: Page, shots: Shots) -> None:
    page = as_admin
    expect(page.get_by_role("heading", name="Your customer pool")).to_be_visible()
    pool = page.locator(".figure", has_text="Customers in the pool")
    expect(pool.locator(".figure-value")).to_have_text(re.compile(r"^\d{3}$"))
    # ECharts draws into a canvas once the page's script has run.
    expect(page.locator("[data-chart] canvas").first).to_be_visible()
    # Sources are named, not shown as importer codes.
    expect(page.locator("main")).to_contain_text("Customer list")
    expect(page.locator("main")).not_to_contain_text("contacts_csv")
    shots.readme("home")


def test_settings_lists_staff_for_an_admin(as_admin: Page, live_server: Server) -> None:
    page = as_admin
    page.goto("/settings")
    expect(page).to_have_url(f"{live_server.url}/settings/staff")
    staff = page.locator("#staff-list")
    for login in (live_server.people.admin, live_server.people.staff, "wangfang"):
        expect(staff.get_by_role("row", name=re.compile(login))).to_be_visible()
    expect(staff.get_by_role("row", name=re.compile(live_server.people.admin))).to_contain_text(
        "Administrator"
    )
    page.get_by_role("link", name="API keys").click()
    expect(page).to_have_url(f"{live_server.url}/settings/api-keys")
    page.get_by_role("link", name="Timezone and currency").click()
    expect(page.locator("main")).to_contain_text("Asia/Shanghai")


def test_staff_see_no_staff_settings(
    page: Page, sign_in: Callable[..., Page], live_server: Server
) -> None:
    sign_in(live_server.people.staff, next="/settings")
    expect(page).to_have_url(f"{live_server.url}/settings/locale")
    expect(page.get_by_role("link", name="API keys")).to_have_count(0)


@pytest.mark.browser_context(**PHONE)
def test_home_fits_a_phone(as_admin: Page) -> None:
    page = as_admin
    expect(page.locator(".figure", has_text="Customers in the pool")).to_be_visible()
    fits_the_width(page)
    # The side navigation folds behind the menu button and opens from it.
    expect(page.locator(".sidenav")).not_to_be_in_viewport()
    page.get_by_label("Menu").click()
    expect(page.locator(".sidenav").get_by_role("link", name="Customers")).to_be_in_viewport()
    fits_the_width(page)
