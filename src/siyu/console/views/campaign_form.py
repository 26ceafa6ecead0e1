"""What the campaign composer holds: read from a post (or copied from a campaign), turned into
create_campaign's arguments, with mistakes in the typing reported per field.

Also the SMS length counter: 70 characters make one message, a longer text is sent in parts of
67 (the rest carries the part header), and the signature (【品牌】) counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import FormData

from siyu.config import get_settings
from siyu.console.labels import N_
from siyu.engage.templates import CONTACT_FIELDS

SMS_SINGLE = 70
SMS_PART = 67
# Settings a channel may keep its SMS signature in, by provider.
SIGNATURE_KEYS = ("sign_name", "signature", "sign")
VARIANT_FIELDS = ("subject", "body", "template_code", "params", "defaults")


def sms_length(text: str, signature: str = "") -> dict[str, int]:
    """Characters (signature included) and how many SMS parts they are sent as."""
    if signature and not signature.startswith("【"):
        signature = f"【{signature}】"
    length = len(signature) + len(text)
    parts = 0 if length == 0 else 1 if length <= SMS_SINGLE else math.ceil(length / SMS_PART)
    return {"length": length, "parts": parts, "signature": len(signature)}


def signature_of(config: dict[str, Any]) -> str:
    for key in SIGNATURE_KEYS:
        if config.get(key):
            return str(config[key])
    return ""


@dataclass
class Variant:
    subject: str = ""
    body: str = ""
    template_code: str = ""
    params: str = ""  # lines of name = template
    defaults: str = ""  # lines of variable = value


@dataclass
class Composer:
    name: str = ""
    channel: str = ""
    audience: str = "query"  # or "segment"
    segment: str = ""
    query: str = ""
    category: str = "marketing"
    a: Variant = field(default_factory=Variant)
    b: Variant = field(default_factory=Variant)
    ab: bool = False
    b_percent: str = "50"
    throttle: str = ""
    scheduled_at: str = ""  # datetime-local text, in SIYU_TIMEZONE
    conversion_days: str = "7"
    errors: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    @classmethod
    def posted(cls, form: FormData) -> Composer:
        def text(key: str, default: str = "") -> str:
            return str(form.get(key) if form.get(key) is not None else default)

        composer = cls(
            name=text("name").strip(),
            channel=text("channel"),
            audience="segment" if form.get("audience") == "segment" else "query",
            segment=text("segment"),
            query=text("query"),
            category="transactional" if form.get("category") == "transactional" else "marketing",
            ab=form.get("ab") == "1",
            b_percent=text("b_percent", "50").strip(),
            throttle=text("throttle").strip(),
            scheduled_at=text("scheduled_at").strip(),
            conversion_days=text("conversion_days", "7").strip(),
        )
        for prefix, variant in (("", composer.a), ("b_", composer.b)):
            for name in VARIANT_FIELDS:
                setattr(variant, name, text(prefix + name))
        return composer

    @classmethod
    def copied(cls, data: dict[str, Any]) -> Composer:
        """A new draft made from a campaign's dict (campaigns.campaign_dict): edit and save."""
        composer = cls(
            name=data["name"],
            channel=str(data["channel"]["id"]) if data.get("channel") else "",
            audience="segment" if data.get("segment") else "query",
            segment=str(data["segment"]["id"]) if data.get("segment") else "",
            query=data.get("query") or "",
            category=data["category"],
            throttle=str(data.get("throttle_per_second") or ""),
            conversion_days=str(data["conversion_days"]),
        )
        variants = data["variants"]
        for variant, source in zip((composer.a, composer.b), variants, strict=False):
            variant.subject = source.get("subject") or ""
            variant.body = source.get("body") or ""
            variant.template_code = source.get("template_code") or ""
            variant.params = _lines(source.get("params") or {})
            variant.defaults = _lines(source.get("defaults") or {})
        if len(variants) > 1:
            composer.ab, composer.b_percent = True, str(variants[1]["percent"])
        return composer

    # --- into the service's arguments ---------------------------------------------------

    def variants(self) -> list[dict[str, Any]]:
        percent = self._number("b_percent", self.b_percent, N_("Give B's share as 1 to 99."))
        chosen = [("A", "", self.a)]
        if self.ab:
            chosen.append(("B", "b_", self.b))
        result = []
        for name, prefix, variant in chosen:
            share = 100 if not self.ab else (100 - (percent or 0) if name == "A" else percent)
            result.append(
                {
                    "name": name,
                    "percent": share or 0,
                    "subject": variant.subject.strip() or None,
                    "body": variant.body,
                    "template_code": variant.template_code.strip() or None,
                    "params": self._pairs(prefix + "params", variant.params, path=False),
                    "defaults": self._pairs(prefix + "defaults", variant.defaults, path=True),
                }
            )
        return result

    def throttle_per_second(self) -> int | None:
        return self._number("throttle", self.throttle, N_("The throttle is a whole number."))

    def conversion(self) -> int:
        days = self._number(
            "conversion_days", self.conversion_days, N_("Conversion days are a whole number.")
        )
        return 7 if days is None else days

    def schedule(self) -> datetime | None:
        """The typed local time (SIYU_TIMEZONE) as UTC."""
        if not self.scheduled_at:
            return None
        try:
            local = datetime.fromisoformat(self.scheduled_at)
        except ValueError:
            self.errors["scheduled_at"] = N_("Give the time as 2026-12-03 10:00.")
            return None
        if local.tzinfo is None:
            local = local.replace(tzinfo=get_settings().zone)
        return local.astimezone(UTC)

    def _number(self, key: str, text: str, message: str) -> int | None:
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            self.errors[key] = message
            return None

    def _pairs(self, key: str, text: str, *, path: bool) -> dict[str, str]:
        pairs: dict[str, str] = {}
        for line in text.splitlines():
            if not line.strip():
                continue
            name, equals, value = line.partition("=")
            name = name.strip()
            if not equals or not name:
                self.errors[key] = N_("Write one per line as name = value.")
                continue
            if path and "." not in name and name in CONTACT_FIELDS:
                name = f"contact.{name}"  # {{ city }} is {{ contact.city }}
            pairs[name] = value.strip()
        return pairs


def _lines(pairs: dict[str, Any]) -> str:
    return "\n".join(f"{k} = {v}" for k, v in pairs.items())
