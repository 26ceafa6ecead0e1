"""Every string the console shows has a Simplified Chinese translation, and no template shows
text that bypasses translation."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import siyu.console
from siyu.console.i18n import TRANSLATIONS_DIR

CONSOLE = Path(siyu.console.__file__).parent
TEMPLATES = CONSOLE / "templates"
METHODS = [
    ("templates/**.html", "jinja2"),
    ("**.py", "python"),
]
OPTIONS = {
    "templates/**.html": {
        "extensions": "jinja2.ext.i18n",
        "trim_blocks": "True",
        "lstrip_blocks": "True",
    }
}
# The product's name is written in both languages on purpose; everything else is translated.
ALLOWED_TEXT = {"私域", "Siyu"}


def extracted() -> dict[str, str]:
    """msgid → where it is, for every translatable string in the console's code and templates."""
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        CONSOLE, METHODS, OPTIONS
    ):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def zh_cn() -> dict[str, str]:
    translations: dict[str, str] = {}
    for po in sorted((TRANSLATIONS_DIR / "zh_CN" / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as handle:
            for message in read_po(handle, locale="zh_CN"):
                if message.id and message.string and not message.fuzzy:
                    string = message.string
                    translations[str(message.id)] = string if isinstance(string, str) else string[0]
    return translations


def test_extraction_finds_the_frame() -> None:
    found = extracted()
    assert "Sign in to Siyu" in found  # a template
    assert "Wrong login or password." in found  # a view
    assert "Taobao" in found  # an N_() label


def test_every_string_has_a_zh_cn_translation() -> None:
    translations = zh_cn()
    missing = [
        f"{where}: {msgid!r}" for msgid, where in extracted().items() if msgid not in translations
    ]
    assert not missing, "no zh_CN translation (add it to the area's .po file):\n" + "\n".join(
        missing
    )


def test_translations_keep_their_placeholders() -> None:
    for msgid, string in zh_cn().items():
        wanted = sorted(re.findall(r"%\(\w+\)s", msgid))
        assert sorted(re.findall(r"%\(\w+\)s", string)) == wanted, msgid


_STRIP = [
    re.compile(r"\{#.*?#\}", re.S),  # comments
    re.compile(r"\{%\s*trans\b.*?\{%\s*endtrans\s*%\}", re.S),
    re.compile(r"<(script|style)\b.*?</\1>", re.S),
    re.compile(r"\{\{.*?\}\}", re.S),
    re.compile(r"\{%.*?%\}", re.S),
    re.compile(r"&\w+;"),
]
_TAG = re.compile(r"<[^>]*>", re.S)
_VISIBLE_ATTRIBUTE = re.compile(
    r'\b(?:placeholder|title|alt|aria-label|hx-confirm)\s*=\s*"([^"]*)"', re.S
)
_WORDS = re.compile(r"[A-Za-z]{2,}|[\u3400-\u9fff]+")


def untranslated_text(source: str) -> list[str]:
    for pattern in _STRIP:
        source = pattern.sub(" ", source)
    words = [w for value in _VISIBLE_ATTRIBUTE.findall(source) for w in _WORDS.findall(value)]
    words += _WORDS.findall(_TAG.sub(" ", source))
    return [word for word in words if word not in ALLOWED_TEXT]


def test_templates_show_no_text_outside_translation() -> None:
    problems = {
        str(path.relative_to(TEMPLATES)): words
        for path in sorted(TEMPLATES.rglob("*.html"))
        if (words := untranslated_text(path.read_text(encoding="utf-8")))
    }
    assert not problems, f"visible text not wrapped in _() or {{% trans %}}: {problems}"


def test_the_text_check_catches_bare_text() -> None:
    assert untranslated_text("<p>Hello</p>") == ["Hello"]
    assert untranslated_text('<input placeholder="搜索">') == ["搜索"]
    assert untranslated_text("<p>{{ _('Hello') }}</p>{% trans %}Bye{% endtrans %}") == []
