"""Jinja2 environments, one per locale, with the formatting filters and the navigation.

One environment per locale keeps translations per request without swapping globals under
concurrent requests: a request renders with the environment of its locale.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.bccache import Bucket, BytecodeCache
from markupsafe import Markup, escape

from siyu import __version__
from siyu.console import i18n, labels

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
VENDOR_FILES = {"htmx": "vendor/htmx.min.js", "echarts": "vendor/echarts.min.js"}
N_ = labels.N_

# The side navigation: (path, label). Pages other engineers build fill in these links.
NAV = (
    ("/", N_("Home")),
    ("/customers", N_("Customers")),
    ("/segments", N_("Segments")),
    ("/journeys", N_("Journeys")),
    ("/coupons", N_("Coupons")),
    ("/funnel", N_("Lead to deal")),
    ("/rfm", N_("RFM")),
    ("/reports", N_("Reports")),
    ("/clv", N_("Lifetime value")),
    ("/imports", N_("Imports")),
    ("/inbound", N_("Forms and QR codes")),
    ("/links", N_("Links")),
    ("/campaigns", N_("Campaigns")),
    ("/channels", N_("Channels")),
    ("/handover", N_("Handover")),
    ("/exports", N_("Exports")),
    ("/audit", N_("Audit log")),
    ("/settings", N_("Settings")),
)


def _vendor_present() -> dict[str, bool]:
    present = {name: (STATIC_DIR / path).is_file() for name, path in VENDOR_FILES.items()}
    missing = [VENDOR_FILES[name] for name, ok in present.items() if not ok]
    if missing:
        # Pages still work: forms post normally and figures are tables; only extras are lost.
        log.warning(
            "console assets missing (%s): run `make install` to fetch them with npm; "
            "pages work without them, without live updates and charts",
            ", ".join(missing),
        )
    return present


def _version(path: Path) -> str:
    """A short content hash, so browsers fetch a static file again when it changes."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    except OSError:
        return __version__


class _SharedBytecode(BytecodeCache):
    """Compiled templates kept for the process, shared by every Templates (each app has one,
    and tests make an app each): compiling the pages anew for each cost a tenth of a second
    a test. Jinja checks each template's source checksum, so an edited template recompiles."""

    def __init__(self) -> None:
        self._store: dict[str, bytes] = {}
        self._guard = threading.Lock()

    def load_bytecode(self, bucket: Bucket) -> None:
        data = self._store.get(bucket.key)
        if data is not None:
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: Bucket) -> None:
        with self._guard:
            self._store[bucket.key] = bucket.bytecode_to_string()


_BYTECODE = _SharedBytecode()


@dataclass
class Templates:
    translations: dict[str, Any] = field(default_factory=i18n.load_all)
    vendor: dict[str, bool] = field(default_factory=_vendor_present)
    environments: dict[str, Environment] = field(init=False)
    versions: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.environments = {locale: self._environment(locale) for locale in i18n.LOCALES}

    def static(self, path: str) -> str:
        if path not in self.versions:
            self.versions[path] = _version(STATIC_DIR / path)
        return f"/static/{path}?v={self.versions[path]}"

    def _environment(self, locale: str) -> Environment:
        env = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=select_autoescape(default=True),
            undefined=StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
            bytecode_cache=_BYTECODE,
        )
        translations = self.translations[locale]
        # newstyle: _("%(n)s items", n=3) formats and escapes in one step.
        env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
        formats = i18n.Formats(locale)
        gettext = translations.gettext

        def label(table: dict[str, str], code: str | None) -> str:
            text = table.get(code or "")
            return gettext(text) if text else str(code)

        env.filters.update(
            number=formats.number,
            percent=formats.percent,
            money=formats.money,
            datetime=formats.datetime,
            date=formats.date,
            platform=lambda code: label(labels.PLATFORMS, code),
            role=lambda code: label(labels.ROLES, code),
            json_script=json_script,
        )
        env.globals.update(
            locale=locale,
            html_lang=locale.replace("_", "-"),
            locale_names=i18n.LOCALE_NAMES,
            nav=NAV,
            static=self.static,
            vendor=self.vendor,
        )
        return env

    def render(self, locale: str, name: str, context: dict[str, Any]) -> str:
        return self.environments[locale].get_template(name).render(context)


def json_script(value: Any, element_id: str) -> Markup:
    """Data for scripts, embedded as inert JSON; `</` is escaped so it cannot end the element."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(f'<script type="application/json" id="{escape(element_id)}">{text}</script>')
