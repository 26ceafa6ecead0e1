"""Languages of the console: catalogues, choosing a locale per request, and formatting.

English is the msgid language. Each page area keeps its own zh_CN catalogue
(translations/zh_CN/LC_MESSAGES/<area>.po), so people can add pages without editing one shared
file. The .po files are read and compiled in memory at start-up: no binary .mo is committed.
"""

from __future__ import annotations

import gettext
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.core import negotiate_locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent, get_currency_precision
from babel.support import NullTranslations, Translations

from siyu.config import get_settings

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
DEFAULT_LOCALE = "zh_CN"
LOCALES = ("zh_CN", "en")
# Names shown in the switcher, each in its own language so anyone can find theirs.
LOCALE_NAMES = {"zh_CN": "简体中文", "en": "English"}
LANG_COOKIE = "lang"
# Any Chinese reads Simplified Chinese better than English; any English is our English.
_ALIASES = {"zh": "zh_CN", "en": "en"}


def load_catalogue(locale: str, directory: Path = TRANSLATIONS_DIR) -> gettext.NullTranslations:
    """All .po files of one locale compiled and merged into one set of translations."""
    files = sorted((directory / locale / "LC_MESSAGES").glob("*.po"))
    # Compiled once per set of files as they stand: every app (each test makes its own)
    # would otherwise parse the catalogues again, a quarter of a second each time.
    return _compiled(locale, tuple((po, po.stat().st_mtime_ns) for po in files))


@lru_cache(maxsize=8)
def _compiled(locale: str, files: tuple[tuple[Path, int], ...]) -> gettext.NullTranslations:
    merged: Translations | None = None
    for po, _ in files:
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=locale, domain=po.stem)
        compiled = BytesIO()
        write_mo(compiled, catalog)  # fuzzy entries are left out, as msgfmt does
        compiled.seek(0)
        part = Translations(fp=compiled, domain=po.stem)
        if merged is None:
            merged = part
        else:
            merged.merge(part)
    return merged if merged is not None else NullTranslations()


def load_all(directory: Path = TRANSLATIONS_DIR) -> dict[str, gettext.NullTranslations]:
    # English needs no catalogue: its msgids are the text.
    return {
        locale: NullTranslations() if locale == "en" else load_catalogue(locale, directory)
        for locale in LOCALES
    }


def accept_language(header: str) -> list[str]:
    """Language tags of an Accept-Language header, most wanted first (q=0 means "not this")."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(weighted)]


def choose_locale(cookie: str | None, header: str | None) -> str:
    """The switcher's choice, else the browser's best match, else Simplified Chinese."""
    if cookie in LOCALES:
        return cookie
    wanted: list[str] = []
    for tag in accept_language(header or ""):
        wanted += [tag.replace("-", "_"), tag.split("-")[0].lower()]
    return negotiate_locale(wanted, LOCALES, aliases=_ALIASES) or DEFAULT_LOCALE


class Formats:
    """Formatting of one locale, used as Jinja filters and in views."""

    def __init__(self, locale: str) -> None:
        self.locale = locale

    def number(self, value: int | float | Decimal | None) -> str:
        return "—" if value is None else format_decimal(value, locale=self.locale)

    def percent(self, value: float | None, digits: int = 1) -> str:
        if value is None:
            return "—"
        return format_percent(value, f"#,##0.{'0' * digits}%" if digits else None, self.locale)

    def money(self, minor: int | None, currency: str | None = None) -> str:
        """An amount in minor units (fen) in the merchant's currency, e.g. ¥1,234.50."""
        if minor is None:
            return "—"
        currency = currency or get_settings().currency
        amount = Decimal(minor).scaleb(-get_currency_precision(currency))
        return format_currency(amount, currency, locale=self.locale)

    def datetime(self, value: datetime | str | None, format: str = "medium") -> str:
        """A stored UTC time in the merchant's zone (SIYU_TIMEZONE); ISO text from a service's
        answer is read first."""
        if value is None:
            return "—"
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return format_datetime(value, format, tzinfo=get_settings().zone, locale=self.locale)

    def date(self, value: date | datetime | None, format: str = "medium") -> str:
        if value is None:
            return "—"
        if isinstance(value, datetime):
            value = value.astimezone(get_settings().zone).date()
        return format_date(value, format, locale=self.locale)
