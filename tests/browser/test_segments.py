"""The segment builder in the browser: rows that read like sentences, the count following the
operator's typing, a row changing kind in place, the text tab, saving, and a phone's width."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, Shots
from tests.browser.test_pages import PHONE, fits_the_width

# The count follows typing after a pause and a round trip; a loaded machine needs longer.
SETTLE_MS = 15_000


def _count(page: Page) -> int:
    return int(page.locator(".segment-count strong").inner_text().replace(",", ""))


def test_build_count_switch_to_text_and_save(
    as_admin: Page, live_server: Server, shots: Shots
) -> None:
    page = as_admin
    page.goto("/segments/new")
    expect(page.get_by_role("heading", name="New segment")).to_be_visible()
    expect(page.locator("#segment-preview")).to_contain_text("Fill in every condition")

    # Total spent · at least · 0: everyone who bought; the count appears as it is typed.
    row = page.locator(".segment-row").first
    row.get_by_label("Value", exact=True).fill("0")
    expect(page.locator(".segment-count")).to_be_visible(timeout=SETTLE_MS)
    everyone = _count(page)
    assert everyone > 0
    row.get_by_label("Value", exact=True).fill("1000")
    expect(page.locator(".segment-count")).not_to_contain_text(
        f"{everyone:,} customers", timeout=SETTLE_MS
    )
    big = _count(page)
    assert big < everyone

    # A second row: changing its kind redraws it with the right inputs, in place.
    page.get_by_role("button", name="Add a condition").click()
    second = page.locator(".segment-row").nth(1)
    second.get_by_label("Condition", exact=True).select_option("orders.count")
    expect(page.locator(".segment-row").nth(1).get_by_label("Days", exact=True)).to_be_visible()
    second = page.locator(".segment-row").nth(1)
    second.get_by_label("Days", exact=True).fill("3650")
    second.get_by_label("Comparison", exact=True).select_option(">=")
    second.get_by_label("Value", exact=True).fill("2")
    expect(page.locator("#segment-preview")).to_contain_text(
        "orders(within: 3650d).count >= 2", timeout=SETTLE_MS
    )
    shots.take("two rows")

    page.get_by_role("tab", name="As text").click()
    # The editor is redrawn; typing before htmx has wired the new form would go unnoticed
    # (no person types within those milliseconds).
    page.wait_for_function(
        "() => document.querySelector('textarea[name=query]') && "
        "!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )
    text = page.get_by_label("Query")
    expect(text).to_have_value(re.compile(r"total_spent >= ¥1000 and orders\(within: 3650d\)"))
    text.fill("total_spent >= ¥1000 and totl_spent > ¥1")
    expect(page.locator("#segment-preview")).to_contain_text(
        "did you mean 'total_spent'", timeout=SETTLE_MS
    )
    text.fill("total_spent >= ¥1000")
    expect(page.locator(".segment-count")).to_be_visible(timeout=SETTLE_MS)
    assert _count(page) == big

    page.get_by_label("Segment name").fill("千元客户")
    page.get_by_role("button", name="Save segment").click()
    expect(page.get_by_role("heading", name="千元客户", level=1)).to_be_visible()
    expect(page.locator(".figure-value").first).to_have_text(f"{big:,}")
    expect(page.locator("#member-list tbody tr").first).to_be_visible()
    shots.take("saved")

    page.goto("/segments")
    expect(page.get_by_role("link", name="千元客户")).to_be_visible()


def test_the_builder_fits_a_phone(as_admin: Page, shots: Shots) -> None:
    page = as_admin
    page.set_viewport_size(PHONE["viewport"])
    page.goto("/segments/new")
    expect(page.locator(".segment-row").first).to_be_visible()
    fits_the_width(page)
