"""Siyu's own order and contact CSVs: what `siyu export` writes and imports back unchanged."""

from __future__ import annotations

import re
from typing import ClassVar

from siyu.contacts.identity import normalise_identity
from siyu.contacts.models import CONSENT_CHANNELS, IDENTITY_KINDS
from siyu.contacts.tags import parse_tag
from siyu.errors import Invalid
from siyu.ingest.formats.base import ImportFormat, Row, email_identity, phone_identity
from siyu.ingest.records import (
    ConsentRecord,
    ContactRecord,
    LineRecord,
    OrderRecord,
    RowError,
)
from siyu.ingest.statuses import settle_refund
from siyu.kit.normalize import fen_to_yuan, parse_money

ORDER_COLUMNS = (
    "order_id",
    "platform",
    "shop",
    "placed_at",
    "paid_at",
    "completed_at",
    "status",
    "total",
    "paid",
    "refunded",
    "shipping_fee",
    "discount",
    "currency",
    "coupon_code",
    "customer",
    "name",
    "phone",
    "email",
    "receiver_province",
    "receiver_city",
    "items",
)
# Identity kinds that have their own column in the contact CSV (phone and email are plain columns).
IDENTITY_COLUMNS = tuple(k for k in IDENTITY_KINDS if k not in ("phone", "email", "receiver"))
CONTACT_COLUMNS = (
    "customer",
    "name",
    "phone",
    "email",
    *IDENTITY_COLUMNS,
    "tags",
    "owner",
    "city",
    "province",
    *(f"consent_{channel}" for channel in CONSENT_CHANNELS),
    "consent_purpose",
    "consent_at",
)
LIST_SEPARATOR = "|"

_ITEM = re.compile(r"^(?P<title>.*?)(?:\s*[×xX*]\s*(?P<qty>\d+))?(?:\s*@\s*(?P<price>[\d.,]+))?$")
_YES = {"yes", "y", "true", "1", "是", "同意", "granted"}
_NO = {"no", "n", "false", "0", "否", "不同意", "revoked", "withdrawn"}


def reference(row: Row, name: str = "customer") -> list[tuple[str, str]]:
    text = row.text(name)
    if text is None:
        return []
    kind, sep, value = text.partition(":")
    if not sep:
        raise RowError(f"{name} {text!r} must look like kind:value, e.g. phone:13800138000")
    try:
        identity = normalise_identity(kind, value)
    except Invalid as error:
        raise RowError(f"{name}: {error.message}") from None
    if identity is None:
        raise RowError(f"{name}: {value!r} is not a usable {kind}")
    return [identity]


def format_items(lines: list[LineRecord]) -> str:
    parts = []
    for line in lines:
        text = line.title.replace(LIST_SEPARATOR, "/")
        if line.quantity != 1 or line.unit_price is not None:
            text += f" ×{line.quantity}"
        if line.unit_price is not None:
            text += f" @{fen_to_yuan(line.unit_price)}"
        parts.append(text)
    return f" {LIST_SEPARATOR} ".join(parts)


def parse_items(text: str | None) -> list[LineRecord]:
    lines = []
    for part in (text or "").split(LIST_SEPARATOR):
        part = part.strip()
        if not part:
            continue
        match = _ITEM.match(part)
        assert match  # the pattern accepts any text
        quantity = int(match["qty"]) if match["qty"] else 1
        price = parse_money(match["price"]) if match["price"] else None
        lines.append(
            LineRecord(
                title=match["title"].strip(),
                quantity=quantity,
                unit_price=price,
                amount=price * quantity if price is not None else None,
            )
        )
    return lines


class CanonicalOrders(ImportFormat):
    name: ClassVar[str] = "orders_csv"
    label: ClassVar[str] = "Siyu order CSV"
    signature = ("order_id", "platform", "placed_at", "status", "total", "customer")
    # `coupon` is the column the issue of coupons named; `coupon_code` is what export writes.
    columns: ClassVar[dict[str, tuple[str, ...]]] = {
        **{c: (c,) for c in ORDER_COLUMNS},
        "coupon_code": ("coupon_code", "coupon"),
    }
    status_map: ClassVar[dict[str, str] | None] = None
    default_platform: ClassVar[str | None] = None

    def parse(self, row: Row) -> OrderRecord:
        identities = reference(row)
        phones, hint = phone_identity(row.text("phone"))
        identities += phones + email_identity(row.text("email"))
        for kind in IDENTITY_COLUMNS:
            if kind in self.positions and (value := row.text(kind)):
                identity = normalise_identity(kind, value)
                if identity:
                    identities.append(identity)
        if not identities:
            raise RowError("no customer: give customer (kind:value), phone or email")
        platform = (row.text("platform") or self.default_platform or "").lower()
        if not platform:
            raise RowError("platform is empty")
        total = row.money("total")
        if total is None:
            raise RowError("total is empty")
        paid = row.money("paid")
        paid = total if paid is None else paid
        refunded = row.money("refunded")
        status = settle_refund(row.status("status", self.status_map), paid, refunded)
        placed_at = row.time("placed_at")
        if placed_at is None:
            raise RowError("placed_at is empty")
        return OrderRecord(
            line=row.line,
            platform=platform,
            shop=row.text("shop") or "",
            platform_order_id=row.required("order_id"),
            status=status,
            placed_at=placed_at,
            paid_at=row.time("paid_at"),
            completed_at=row.time("completed_at"),
            identities=identities,
            profile={"name": row.text("name"), "phone_hint": hint},
            currency=(row.text("currency") or "CNY").upper(),
            total_amount=total,
            paid_amount=paid if status != "pending" else 0,
            refunded_amount=refunded,
            shipping_fee=row.money("shipping_fee") or 0,
            discount_amount=row.money("discount") or 0,
            coupon_code=row.text("coupon_code"),
            receiver_province=row.text("receiver_province"),
            receiver_city=row.text("receiver_city"),
            lines=parse_items(row.text("items")),
        )


def split_list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(LIST_SEPARATOR) if part.strip()]


def parse_yes_no(row: Row, name: str) -> bool | None:
    text = row.text(name)
    if text is None:
        return None
    folded = text.strip().lower()
    if folded in _YES:
        return True
    if folded in _NO:
        return False
    raise RowError(f"{name}: {text!r} is neither yes nor no")


def parse_tags(text: str | None) -> list[tuple[str, str]]:
    """'兴趣:护肤|VIP' → [('兴趣', '护肤'), ('', 'VIP')], checked like tags typed anywhere."""
    parts = (text or "").replace("，", LIST_SEPARATOR).split(LIST_SEPARATOR)
    return [parse_tag(part) for part in parts if part.strip()]


class CanonicalContacts(ImportFormat):
    name: ClassVar[str] = "contacts_csv"
    label: ClassVar[str] = "Siyu contact CSV"
    kind = "contacts"
    signature = ("customer",)
    columns: ClassVar[dict[str, tuple[str, ...]]] = {c: (c,) for c in CONTACT_COLUMNS}

    def matches(self, header):  # type: ignore[no-untyped-def]
        # `customer` alone is too common a word: require one more of our own columns.
        score = super().matches(header)
        return score if score >= 2 and not header.has("order_id") else 0

    def parse(self, row: Row) -> ContactRecord:
        identities = reference(row)
        hint = None
        for phone in split_list(row.text("phone")):
            phones, phone_hint = phone_identity(phone)
            identities += phones
            hint = hint or phone_hint
        for email in split_list(row.text("email")):
            identities += email_identity(email)
        for kind in IDENTITY_COLUMNS:
            for value in split_list(row.text(kind)):
                identity = normalise_identity(kind, value)
                if identity:
                    identities.append(identity)
        if not identities:
            raise RowError("no identity: give customer (kind:value), phone, email or an id column")
        consent_at = row.time("consent_at")
        consents = []
        for channel in CONSENT_CHANNELS:
            granted = parse_yes_no(row, f"consent_{channel}")
            if granted is not None:
                consents.append(
                    ConsentRecord(
                        channel=channel,
                        granted=granted,
                        purpose=row.text("consent_purpose") or "",
                        recorded_at=consent_at,
                    )
                )
        return ContactRecord(
            line=row.line,
            identities=list(dict.fromkeys(identities)),
            profile={
                "name": row.text("name"),
                "phone_hint": hint,
                "city": row.text("city"),
                "province": row.text("province"),
            },
            tags=parse_tags(row.text("tags")),
            owner_login=row.text("owner"),
            consents=consents,
        )
