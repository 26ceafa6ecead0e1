"""What an importer is: a header signature, named columns and a row parser.

Columns are always found by name, never by position: platforms add and reorder columns between
versions, pad names with spaces and repeat some. Each importer names the columns it reads with
the spellings seen in real files; the first spelling present wins.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from siyu.ingest.records import LineRecord, Record, RowError
from siyu.ingest.statuses import map_status
from siyu.kit.normalize import clean_cell, normalise_email, normalise_phone, parse_int, parse_money
from siyu.kit.timeutil import parse_time

_HEADER_FOLD = str.maketrans({"（": "(", "）": ")", "\ufeff": "", "\u3000": " ", "：": ":"})
_HEADER_SPACE = re.compile(r"\s+")
_NO_AMOUNT = re.compile(r"无|没有|未")


def fold_header(name: str) -> str:
    return _HEADER_SPACE.sub("", name.translate(_HEADER_FOLD)).strip("\"'").lower()


class Header:
    """A file's header: folded names → position. Repeated names get `#2`, `#3` suffixes."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self.positions: dict[str, int] = {}
        for index, name in enumerate(names):
            key = fold_header(name)
            if not key:
                continue
            if key in self.positions:
                count = 2
                while f"{key}#{count}" in self.positions:
                    count += 1
                key = f"{key}#{count}"
            self.positions[key] = index

    def find(self, spellings: Sequence[str]) -> int | None:
        for spelling in spellings:
            position = self.positions.get(fold_header(spelling))
            if position is not None:
                return position
        return None

    def has(self, spelling: str) -> bool:
        return fold_header(spelling) in self.positions


class Row:
    """One row, read through the importer's column names; every getter cleans the cell."""

    __slots__ = ("cells", "columns", "line")

    def __init__(self, line: int, cells: list[str], columns: Mapping[str, int | None]) -> None:
        self.line = line
        self.cells = cells
        self.columns = columns

    def raw(self, name: str) -> str | None:
        position = self.columns.get(name)
        if position is None or position >= len(self.cells):
            return None
        return self.cells[position]

    def text(self, name: str) -> str | None:
        return clean_cell(self.raw(name))

    def required(self, name: str, label: str | None = None) -> str:
        value = self.text(name)
        if value is None:
            raise RowError(f"{label or name} is empty")
        return value

    def money(self, name: str) -> int | None:
        try:
            return parse_money(self.raw(name))
        except ValueError as error:
            # Platforms write a "none" phrase where an amount should be (Taobao: 无退款申请 in
            # 退款金额); anything else that is no amount is a mistake worth reporting.
            text = self.text(name)
            if text and _NO_AMOUNT.search(text) and not any(ch.isdigit() for ch in text):
                return None
            raise RowError(f"{name}: {error}") from None

    def integer(self, name: str, default: int | None = None) -> int | None:
        try:
            return parse_int(self.raw(name), default)
        except ValueError as error:
            raise RowError(f"{name}: {error}") from None

    def time(self, name: str) -> datetime | None:
        try:
            return parse_time(self.text(name))
        except ValueError as error:
            raise RowError(f"{name}: {error}") from None

    def required_time(self, *names: str, label: str) -> datetime:
        """The first of these time columns that has a value; `label` names it when none has."""
        for name in names:
            value = self.time(name)
            if value is not None:
                return value
        raise RowError(f"{label} is empty")

    def status(self, name: str, extra: dict[str, str] | None = None) -> str:
        return map_status(self.text(name), extra)


@dataclass
class ImportFormat:
    """Base of every importer. Subclasses set the class attributes and implement `parse`."""

    name: ClassVar[str]
    label: ClassVar[str]
    platform: ClassVar[str] = ""
    kind: ClassVar[Literal["orders", "contacts"]] = "orders"
    # Headers that must all be present for the file to be this format.
    signature: ClassVar[tuple[str, ...]] = ()
    # Field → spellings of its column, most common first.
    columns: ClassVar[dict[str, tuple[str, ...]]] = {}
    # How several rows of one order combine: "sum" when each row is one line with its own
    # amounts, "first" when order amounts repeat on every line.
    line_amounts: ClassVar[Literal["sum", "first"]] = "first"

    positions: dict[str, int | None] = field(default_factory=dict)

    def matches(self, header: Header) -> int:
        """0 when this is not the format; otherwise how many known columns the file has."""
        if not self.signature or not all(header.has(name) for name in self.signature):
            return 0
        return sum(header.find(spellings) is not None for spellings in self.columns.values())

    def bind(self, header: Header) -> None:
        self.positions = {name: header.find(spellings) for name, spellings in self.columns.items()}

    def row(self, line: int, cells: list[str]) -> Row:
        return Row(line, cells, self.positions)

    def parse(self, row: Row) -> Record:
        raise NotImplementedError


# Helpers shared by the platform importers.


def phone_identity(text: str | None) -> tuple[list[tuple[str, str]], str | None]:
    """A real phone becomes an identity; a masked or virtual one only a display hint."""
    result = normalise_phone(text)
    return ([("phone", result.e164)] if result.e164 else []), result.hint


def email_identity(text: str | None) -> list[tuple[str, str]]:
    email = normalise_email(text)
    return [("email", email)] if email else []


def receiver_identity(platform: str, *parts: str | None) -> list[tuple[str, str]]:
    """The weak key of a buyer a platform hides: receiver name, masked phone and address.

    Prefixed by the platform so it can never link people across platforms on its own.
    """
    present = [p.strip() for p in parts if p and p.strip()]
    if not present:
        return []
    digest = hashlib.sha1("|".join(present).encode()).hexdigest()[:24]
    return [("receiver", f"{platform}:{digest}")]


_PROVINCE_SUFFIX = ("省", "市", "自治区", "特别行政区")


def split_address(address: str | None) -> tuple[str | None, str | None]:
    """'广东省 广州市 越秀区 …' → ('广东省', '广州市'); platforms separate parts by spaces."""
    if not address:
        return None, None
    parts = address.split()
    if len(parts) < 2:
        return None, None
    province, city = parts[0], parts[1]
    if not province.endswith(_PROVINCE_SUFFIX) and province not in _MUNICIPALITIES:
        return None, None
    return province, city


_MUNICIPALITIES = {"北京", "上海", "天津", "重庆", "香港", "澳门", "台湾"}


def receiver(
    name: str | None, hint: str | None, province: str | None, city: str | None
) -> dict[str, Any]:
    """OrderRecord fields for a buyer known by a receiver: the profile and the receiver columns."""
    return {
        "profile": {"name": name, "phone_hint": hint, "province": province, "city": city},
        "receiver_name": name,
        "receiver_province": province,
        "receiver_city": city,
    }


def one_line(
    title: str | None,
    quantity: int | None,
    unit_price: int | None = None,
    amount: int | None = None,
    sku: str | None = None,
) -> list[LineRecord]:
    if not title:
        return []
    return [
        LineRecord(
            title=title[:500], quantity=quantity or 1, unit_price=unit_price, amount=amount, sku=sku
        )
    ]


class LabelledRow(Row):
    """A row whose errors name the column as the file spells it, not the importer's field."""

    __slots__ = ("labels",)

    def __init__(
        self,
        line: int,
        cells: list[str],
        columns: Mapping[str, int | None],
        labels: Mapping[str, str],
    ) -> None:
        super().__init__(line, cells, columns)
        self.labels = labels

    def _relabel(self, name: str, error: RowError) -> RowError:
        label = self.labels.get(name, name)
        message = str(error)
        if message.startswith(name):
            message = label + message[len(name) :]
        return RowError(message)

    def money(self, name: str) -> int | None:
        try:
            return super().money(name)
        except RowError as error:
            raise self._relabel(name, error) from None

    def integer(self, name: str, default: int | None = None) -> int | None:
        try:
            return super().integer(name, default)
        except RowError as error:
            raise self._relabel(name, error) from None

    def time(self, name: str) -> datetime | None:
        try:
            return super().time(name)
        except RowError as error:
            raise self._relabel(name, error) from None

    def required(self, name: str, label: str | None = None) -> str:
        return super().required(name, label or self.labels.get(name))

    def status(self, name: str, extra: dict[str, str] | None = None) -> str:
        try:
            return super().status(name, extra)
        except RowError as error:
            raise RowError(f"{self.labels.get(name, name)}: {error}") from None


class PlatformFormat(ImportFormat):
    """An importer whose required headers have several spellings across export versions."""

    # Each group must have one of its spellings in the header.
    required_any: ClassVar[tuple[tuple[str, ...], ...]] = ()
    # Headers only a sibling format has (an item-level report, say): their presence rules us out.
    excludes: ClassVar[tuple[str, ...]] = ()

    def matches(self, header: Header) -> int:
        if not self.signature and not self.required_any:
            return 0
        if not all(header.has(name) for name in self.signature):
            return 0
        if not all(header.find(group) is not None for group in self.required_any):
            return 0
        if any(header.has(name) for name in self.excludes):
            return 0
        return sum(header.find(spellings) is not None for spellings in self.columns.values())

    def bind(self, header: Header) -> None:
        super().bind(header)
        self.labels = {
            name: header.names[position].strip().lstrip("\ufeff")
            for name, position in self.positions.items()
            if position is not None
        }

    def row(self, line: int, cells: list[str]) -> Row:
        return LabelledRow(line, cells, self.positions, self.labels)

    def has(self, field: str) -> bool:
        return self.positions.get(field) is not None


def first_text(row: Row, *names: str) -> str | None:
    for name in names:
        value = row.text(name)
        if value is not None:
            return value
    return None


_PROVINCES = (
    "河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|海南|四川|贵州"
    "|云南|陕西|甘肃|青海|台湾"
)
_COMPACT_REGION = re.compile(
    rf"^(?:(?P<muni>北京|天津|上海|重庆)市?"
    rf"|(?P<auto>内蒙古|广西|西藏|宁夏|新疆)(?:壮族|回族|维吾尔)?(?:自治区)?"
    rf"|(?P<sar>香港|澳门)(?:特别行政区)?"
    rf"|(?P<prov>{_PROVINCES})省?)"
    r"(?P<city>[^\s\d]{1,10}?(?:市|自治州|地区|盟))?"
)


def address_region(address: str | None) -> tuple[str | None, str | None]:
    """Province and city of an address: '广东省 广州市 …' or run together, '江西南昌市…'."""
    if not address:
        return None, None
    province, city = split_address(address)
    if province:
        return province, city
    match = _COMPACT_REGION.match(address.strip())
    if not match:
        return None, None
    if match["muni"]:
        return match["muni"] + "市", match["muni"] + "市"
    if match["prov"]:
        return match["prov"] + "省", match["city"]
    return match["auto"] or match["sar"], match["city"]


def hidden_buyer(
    platform: str, name: str | None, phone: str | None, address: str | None
) -> tuple[list[tuple[str, str]], str | None]:
    """Identities of a buyer a platform hides behind its receiver, and the phone hint.

    A real phone (old exports) links across shops; a masked one is a hint. The receiver key
    needs a name or phone: an address alone (Pinduoduo now gives only 省市区街道) would lump a
    whole street together.
    """
    phones, hint = phone_identity(phone)
    if not (name or phone):
        return phones, hint
    return phones + receiver_identity(platform, name, hint or phone, address), hint


def join_address(*parts: str | None) -> str | None:
    """省, 市, 区, 街道, 详细地址 columns → one address, skipping repeats of the previous part."""
    out: list[str] = []
    for part in parts:
        if part and (not out or part not in out[-1]):
            out.append(part)
    return " ".join(out) or None
