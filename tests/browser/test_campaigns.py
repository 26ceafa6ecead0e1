"""Reach in the browser: add a channel through its generated form, compose a campaign with the
audience counted as it is typed, see the check name the customers a variable is missing for,
fix it in a copy, start it and watch its figures arrive."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import Shots

# The count follows typing after a pause and a round trip; a loaded machine needs longer.
SETTLE_MS = 15_000
# The in-process worker picks up the start job and writes the recipients' messages.
SENDING_MS = 30_000


def test_compose_check_fix_and_start_a_campaign(as_admin: Page, shots: Shots) -> None:
    page = as_admin
    page.goto("/channels/new?kind=keeping")
    page.get_by_label("Name", exact=True).fill("测试邮件")
    page.get_by_role("button", name="Add channel").click()
    expect(page.locator("#channel-list")).to_contain_text("测试邮件")

    page.goto("/campaigns/new")
    page.wait_for_function("() => window.htmx !== undefined")
    page.get_by_label("Campaign name").fill("上新提醒")
    page.get_by_label("Query", exact=True).fill("order_count >= 1")
    expect(page.locator(".segment-count")).to_be_visible(timeout=SETTLE_MS)
    page.get_by_label("Subject", exact=True).fill("上新了")
    # Most demo customers have no owner: the check will count them.
    page.get_by_label("Message", exact=True).fill(
        "{{ name }}您好，我是{{ owner.name }}。{{ unsubscribe_url }}"
    )
    shots.take("composed")
    page.get_by_role("button", name="Save draft").click()

    expect(page.get_by_role("heading", name="上新提醒", level=1)).to_be_visible()
    missing = page.locator("#missing-variables")
    expect(missing).to_contain_text("owner.name")
    expect(missing.locator("a[href^='/customers/']").first).to_be_visible()
    expect(page.get_by_role("button", name="Start", exact=True)).to_be_disabled()
    expect(page.locator("#campaign-preview")).to_contain_text("您好")
    shots.take("check fails")

    page.get_by_role("link", name="Copy into a new draft").click()
    page.get_by_label("Campaign name").fill("上新提醒 2")
    page.get_by_label("Message", exact=True).fill(
        "{{ name }}您好，我是{{ owner.name | default('小店客服') }}。{{ unsubscribe_url }}"
    )
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", name="上新提醒 2", level=1)).to_be_visible()
    expect(page.locator("#campaign-check")).to_contain_text("Ready to start")
    expect(page.locator("#campaign-preview")).to_contain_text("小店客服")

    page.get_by_role("button", name="Start", exact=True).click()
    expect(page.locator("#toasts")).to_contain_text("Started")
    expect(page.locator(".campaign-state")).to_have_text(re.compile("Scheduled|Sending|Done"))
    # The figures are polled while it sends: the recipients appear without a reload.
    recipients = page.locator(".figure", has_text="Recipients").locator(".figure-value")
    expect(recipients).not_to_have_text("0", timeout=SENDING_MS)
    shots.take("started")

    page.goto("/campaigns")
    expect(page.locator("#campaign-list")).to_contain_text("上新提醒 2")
