"""Signing in by login, e-mail or phone; a wrong password; the language switch."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server


@pytest.mark.parametrize("who", ["login", "email", "phone"])
def test_sign_in_by_login_email_or_phone(
    page: Page, sign_in: Callable[..., Page], live_server: Server, who: str
) -> None:
    people = live_server.people
    identifier = {"login": people.admin, "email": people.admin_email, "phone": people.admin_phone}
    sign_in(identifier[who], next="/imports")
    expect(page).to_have_url(f"{live_server.url}/imports")
    expect(page.get_by_role("heading", name="Imports", exact=True)).to_be_visible()
    expect(page.locator(".whoami")).to_contain_text("周敏")


def test_wrong_password_is_refused_with_a_message(
    page: Page, sign_in: Callable[..., Page], live_server: Server
) -> None:
    sign_in(live_server.people.other_staff, password="not the password")
    expect(page).to_have_url(f"{live_server.url}/login")
    expect(page.locator(".alert")).to_contain_text("Wrong login or password.")
    # What was typed stays; the password does not.
    expect(page.get_by_label("Login, e-mail or phone")).to_have_value(
        live_server.people.other_staff
    )
    expect(page.get_by_label("Password")).to_have_value("")
    page.goto("/customers")
    expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)customers$"))


def test_language_switch_is_remembered(as_admin: Page, live_server: Server) -> None:
    page = as_admin
    page.goto("/imports")
    expect(page.get_by_role("heading", name="Imports", exact=True)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.get_by_role("link", name="简体中文").click()
    expect(page).to_have_url(f"{live_server.url}/imports")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", name="导入", exact=True)).to_be_visible()
    expect(page.get_by_role("navigation", name="主导航")).to_contain_text("客户")

    # The choice outlives a reload and a new tab, although the browser asks for English.
    page.reload()
    expect(page.get_by_role("heading", name="导入", exact=True)).to_be_visible()
    other = page.context.new_page()
    other.goto("/")
    expect(other.locator(".sidenav")).to_contain_text("首页")
    other.close()

    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Imports", exact=True)).to_be_visible()
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "en")


@pytest.mark.browser_context(locale="zh-CN")
def test_a_chinese_browser_gets_chinese_pages(page: Page) -> None:
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("button", name="登录")).to_be_visible()
