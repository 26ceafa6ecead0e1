"""Language choice (Accept-Language, the switcher's cookie) and formatting per locale."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from siyu.console import i18n
from siyu.console.i18n import Formats, choose_locale
from tests.console.conftest import Browser


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("en-US,en;q=0.9", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"),
        ("zh-TW", "zh_CN"),
        ("zh-Hans-CN", "zh_CN"),
        ("fr-FR, en;q=0.5, zh;q=0.4", "en"),
        ("en;q=0.2, zh;q=0.8", "zh_CN"),
        ("de, fr", "zh_CN"),
        ("en;q=0", "zh_CN"),
        ("", "zh_CN"),
    ],
)
def test_locale_from_accept_language(header: str, locale: str) -> None:
    assert choose_locale(None, header) == locale


def test_cookie_beats_the_browser() -> None:
    assert choose_locale("en", "zh-CN") == "en"
    assert choose_locale("zh_CN", "en") == "zh_CN"
    assert choose_locale("xx", "en") == "en"


def test_pages_follow_accept_language(browser: Browser) -> None:
    english = browser.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in english.text
    assert "Sign in to Siyu" in english.text
    chinese = browser.get("/login", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="zh-CN">' in chinese.text
    assert "登录私域" in chinese.text


def test_switcher_remembers_and_goes_back(browser: Browser) -> None:
    response = browser.get("/lang/en?next=/login%3Fnext%3D/customers", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/customers"
    assert "lang=en" in response.headers["set-cookie"]
    page = browser.get("/login", headers={"Accept-Language": "zh-CN"})
    assert "Sign in to Siyu" in page.text
    browser.get("/lang/zh_CN", headers={"Referer": "http://testserver/login"})
    assert "登录私域" in browser.get("/login", headers={"Accept-Language": "en"}).text


def test_switcher_refuses_other_sites_and_unknown_languages(browser: Browser) -> None:
    response = browser.get("/lang/en?next=//evil.example/", follow_redirects=False)
    assert response.headers["location"] == "/"
    response = browser.get(
        "/lang/en", headers={"Referer": "https://evil.example/x"}, follow_redirects=False
    )
    assert response.headers["location"] == "/"
    response = browser.get("/lang/xx", follow_redirects=False)
    assert "set-cookie" not in response.headers


def test_money_in_each_locale() -> None:
    assert Formats("zh_CN").money(123450) == "¥1,234.50"
    assert Formats("en").money(123450) == "CN¥1,234.50"
    assert Formats("zh_CN").money(-5) == "-¥0.05"
    assert Formats("en").money(None) == "—"
    assert Formats("en").money(1000, "USD") == "$10.00"


def test_numbers_and_percentages() -> None:
    assert Formats("zh_CN").number(1234567) == "1,234,567"
    assert Formats("en").percent(0.4567) == "45.7%"
    assert Formats("zh_CN").percent(None) == "—"


def test_times_in_the_merchant_zone() -> None:
    # 16:30 UTC is 00:30 the next day in Asia/Shanghai (SIYU_TIMEZONE's default).
    moment = datetime(2024, 6, 30, 16, 30, tzinfo=UTC)
    assert Formats("zh_CN").datetime(moment) == "2024年7月1日 00:30:00"
    assert Formats("en").datetime(moment) == "Jul 1, 2024, 12:30:00\u202fAM"
    assert Formats("zh_CN").date(moment) == "2024年7月1日"
    assert Formats("en").date(date(2024, 6, 30)) == "Jun 30, 2024"


def test_times_follow_siyu_timezone(monkeypatch: pytest.MonkeyPatch) -> None:
    from siyu.config import get_settings

    monkeypatch.setenv("SIYU_TIMEZONE", "Europe/Berlin")
    get_settings.cache_clear()
    assert (
        Formats("en")
        .datetime(datetime(2024, 6, 30, 16, 30, tzinfo=UTC))
        .startswith("Jun 30, 2024, 6:30:00")
    )


def test_several_po_files_are_merged(tmp_path: Path) -> None:
    folder = tmp_path / "zh_CN" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    header = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
    (folder / "frame.po").write_text(header + 'msgid "Home"\nmsgstr "首页"\n', encoding="utf-8")
    (folder / "customers.po").write_text(
        header + 'msgid "Customers"\nmsgstr "客户"\n\n#, fuzzy\nmsgid "Tags"\nmsgstr "标签?"\n',
        encoding="utf-8",
    )
    catalogue = i18n.load_catalogue("zh_CN", tmp_path)
    assert catalogue.gettext("Home") == "首页"
    assert catalogue.gettext("Customers") == "客户"
    # A fuzzy (unchecked) translation is not used, as msgfmt would not use it.
    assert catalogue.gettext("Tags") == "Tags"
