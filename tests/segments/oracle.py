"""A plain-Python evaluation of segment queries, the reference the SQL compiler is checked
against. It reads the pool's rows as they are and applies each condition's documented meaning,
one contact at a time, sharing no code with the compiler."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.analytics.models import RfmScore
from siyu.contacts.models import (
    Contact,
    ContactAlias,
    ContactConsent,
    ContactIdentity,
    ContactOrder,
    ContactOrderLine,
    ContactTagLink,
    Tag,
)
from siyu.events.models import Event
from siyu.segments.models import Segment, SegmentMember
from siyu.staff.models import StaffUser

PURCHASES = {"paid", "shipped", "completed", "refunded"}
GROUPS = {"wechat": {"wechat_unionid", "wechat_openid"}, "wecom": {"wecom_external_userid"}}
UNITS = {"h": 3600, "d": 86400, "w": 604800}
RFM = {
    "rfm.segment": "segment",
    "rfm.score": "score",
    "rfm.r": "recency_score",
    "rfm.f": "frequency_score",
    "rfm.m": "monetary_score",
}


@dataclass
class Pool:
    contacts: dict[int, Contact]
    staff: dict[int, str]
    tags: dict[int, set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))
    kinds: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    consents: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    orders: dict[int, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    events: dict[int, list[Event]] = field(default_factory=lambda: defaultdict(list))
    segments: dict[str, Segment] = field(default_factory=dict)
    static: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    rfm: dict[int, RfmScore] = field(default_factory=dict)


def load(session: Session) -> Pool:
    pool = Pool(
        contacts={c.id: c for c in session.scalars(select(Contact))},
        staff={i: login for i, login in session.execute(select(StaffUser.id, StaffUser.login))},
    )
    tags = {tid: (g, n) for tid, g, n in session.execute(select(Tag.id, Tag.tag_group, Tag.name))}
    for contact_id, tag_id in session.execute(
        select(ContactTagLink.contact_id, ContactTagLink.tag_id)
    ):
        pool.tags[contact_id].add(tags[tag_id])
    for contact_id, kind in session.execute(
        select(ContactIdentity.contact_id, ContactIdentity.kind)
    ):
        pool.kinds[contact_id].add(kind)
    for consent in session.scalars(select(ContactConsent)):
        if consent.granted:
            pool.consents[consent.contact_id].add(consent.channel)
    lines: dict[int, list[ContactOrderLine]] = defaultdict(list)
    for line in session.scalars(select(ContactOrderLine)):
        lines[line.order_id].append(line)
    for order in session.scalars(select(ContactOrder)):
        pool.orders[order.contact_id].append({"order": order, "lines": lines[order.id]})
    aliases = {
        old: new
        for old, new in session.execute(select(ContactAlias.old_id, ContactAlias.contact_id))
    }
    for event in session.scalars(select(Event)):
        if event.contact_id is not None:
            pool.events[aliases.get(event.contact_id, event.contact_id)].append(event)
    pool.segments = {s.name: s for s in session.scalars(select(Segment))}
    pool.rfm = {r.contact_id: r for r in session.scalars(select(RfmScore))}
    for segment_id, contact_id in session.execute(
        select(SegmentMember.segment_id, SegmentMember.contact_id)
    ):
        pool.static[segment_id].add(contact_id)
    return pool


@dataclass
class Oracle:
    pool: Pool
    now: datetime
    zone: ZoneInfo
    currency: str = "CNY"

    def members(self, node: dict[str, Any]) -> set[int]:
        return {cid for cid in self.pool.contacts if self.holds(node, cid)}

    def holds(self, node: dict[str, Any], cid: int) -> bool:
        if "and" in node:
            return all(self.holds(part, cid) for part in node["and"])
        if "or" in node:
            return any(self.holds(part, cid) for part in node["or"])
        if "not" in node:
            return not self.holds(node["not"], cid)
        if "field" in node:
            return self.field(node, cid)
        return getattr(self, node["call"])(node, cid)

    # fields
    def field(self, node: dict[str, Any], cid: int) -> bool:
        contact = self.pool.contacts[cid]
        name = node["field"]
        if name.startswith("traits."):
            return json_test(contact.traits, name[len("traits.") :].split("."), node)
        if name == "channel_code":
            return json_test(contact.traits, ["channel_code"], node)
        if name == "owner":
            login = self.pool.staff.get(contact.owner_id) if contact.owner_id else None
            return text_test(login, node)
        if name.startswith("rfm."):
            score = self.pool.rfm.get(cid)
            value = getattr(score, RFM[name]) if score is not None else None
            return (text_test if name == "rfm.segment" else number_test)(value, node)
        if name == "stage":
            return text_test(contact.lifecycle_stage, node)
        value = getattr(contact, name)
        if name == "platforms":
            return list_test(value, node)
        if name in ("created_at", "first_order_at", "last_order_at"):
            return self.time_test(value, node)
        if name in ("name", "city", "province", "source"):
            return text_test(value, node)
        return number_test(value, node)

    def instant(self, value: dict[str, Any], end: bool) -> datetime:
        if "ago" in value:
            return self.now - timedelta(seconds=value["ago"] * UNITS[value["unit"]])
        day = datetime.fromisoformat(value["date"]).replace(tzinfo=self.zone)
        return day + timedelta(days=1) if end else day

    def time_test(self, value: datetime | None, node: dict[str, Any]) -> bool:
        op = node["op"]
        if op == "is_set":
            return value is not None
        if op == "is_not_set":
            return value is None
        if value is None:
            return False
        if op == "between":
            low, high = node["value"]
            upper = (
                value < self.instant(high, True)
                if "date" in high
                else value <= self.instant(high, False)
            )
            return value >= self.instant(low, False) and upper
        v = node["value"]
        day = "date" in v
        if op == "<":
            return value < self.instant(v, False)
        if op == "<=":
            return value < self.instant(v, True) if day else value <= self.instant(v, False)
        if op == ">":
            return value >= self.instant(v, True) if day else value > self.instant(v, False)
        return value >= self.instant(v, False)

    # functions
    def tag(self, node: dict[str, Any], cid: int) -> bool:
        text = node["args"]["name"].replace("：", ":")
        group, sep, name = text.partition(":")
        wanted = (group.strip(), name.strip()) if sep else ("", group.strip())
        return wanted in self.pool.tags[cid]

    def has(self, node: dict[str, Any], cid: int) -> bool:
        kind = node["args"]["kind"]
        return bool(GROUPS.get(kind, {kind}) & self.pool.kinds[cid])

    def consent(self, node: dict[str, Any], cid: int) -> bool:
        return node["args"]["channel"] in self.pool.consents[cid]

    def in_segment(self, node: dict[str, Any], cid: int) -> bool:
        segment = self.pool.segments[node["args"]["name"]]
        if segment.kind == "static":
            return cid in self.pool.static[segment.id]
        return self.holds(segment.definition, cid)

    def orders(self, node: dict[str, Any], cid: int) -> bool:
        args = node["args"]
        picked = []
        for item in self.pool.orders[cid]:
            order, lines = item["order"], item["lines"]
            if order.status not in PURCHASES or order.currency != self.currency:
                continue
            if "within" in args and order.placed_at < self.now - window(args["within"]):
                continue
            if "platform" in args and order.platform != args["platform"]:
                continue
            if "shop" in args and order.shop != args["shop"]:
                continue
            if args.get("coupon") is True and not order.coupon_code:
                continue
            if isinstance(args.get("coupon"), str) and order.coupon_code != args["coupon"]:
                continue
            if "product" in args and not any(args["product"] in line.title for line in lines):
                continue
            if "sku" in args and not any(line.sku == args["sku"] for line in lines):
                continue
            picked.append(order)
        if node["measure"] == "count":
            measure = len(picked)
        else:
            measure = sum(o.paid_amount - o.refunded_amount for o in picked)
        return number_test(measure, node)

    def events(self, node: dict[str, Any], cid: int) -> bool:
        args = node["args"]
        kind = {"page_viewed": "page", "screen_viewed": "screen"}.get(args["name"])
        count = 0
        for event in self.pool.events[cid]:
            if kind and event.type != kind:
                continue
            if not kind and (event.type != "track" or event.name != args["name"]):
                continue
            if "within" in args and event.timestamp < self.now - window(args["within"]):
                continue
            if not all(
                json_test(event.properties, c["field"].split("."), c) for c in node.get("where", [])
            ):
                continue
            count += 1
        return number_test(count, node)


def window(value: dict[str, Any]) -> timedelta:
    return timedelta(seconds=value["duration"] * UNITS[value["unit"]])


def plain(value: Any) -> Any:
    return value["money"] if isinstance(value, dict) and "money" in value else value


def number_test(value: Any, node: dict[str, Any]) -> bool:
    op, target = node["op"], node["value"]
    target = [plain(t) for t in target] if isinstance(target, list) else plain(target)
    if value is None:
        return op in ("!=", "not_in")
    return compare(value, op, target)


def compare(value: Any, op: str, target: Any) -> bool:
    if op == "=":
        return value == target
    if op == "!=":
        return value != target
    if op == "<":
        return value < target
    if op == "<=":
        return value <= target
    if op == ">":
        return value > target
    if op == ">=":
        return value >= target
    if op == "between":
        return target[0] <= value <= target[1]
    if op == "in":
        return value in target
    if op == "not_in":
        return value not in target
    raise AssertionError(op)


def text_test(value: str | None, node: dict[str, Any]) -> bool:
    op, target = node["op"], node.get("value")
    if op == "is_set":
        return bool(value)
    if op == "is_not_set":
        return not value
    if value is None:
        return op in ("!=", "not_in")
    if op == "contains":
        return target in value
    return compare(value, op, target)


def list_test(value: str | None, node: dict[str, Any]) -> bool:
    if node["op"] == "is_set":
        return bool(value)
    if node["op"] == "is_not_set":
        return not value
    return value is not None and f",{node['value']}," in f",{value},"


def json_kind(document: Any, keys: list[str]) -> tuple[str, Any]:
    for key in keys:
        if not isinstance(document, dict) or key not in document:
            return "missing", None
        document = document[key]
    if document is None:
        return "null", None
    if isinstance(document, bool):
        return ("true" if document else "false"), document
    if isinstance(document, int | float):
        return "number", document
    if isinstance(document, str):
        return "text", document
    return ("object" if isinstance(document, dict) else "array"), document


def json_test(document: Any, keys: list[str], node: dict[str, Any]) -> bool:
    op, target = node["op"], node.get("value")
    kind, value = json_kind(document, keys)
    if op == "is_set":
        return kind not in ("missing", "null")
    if op == "is_not_set":
        return kind in ("missing", "null")
    if op == "!=":
        return not json_test(document, keys, {"op": "=", "value": target})
    if op == "not_in":
        return not json_test(document, keys, {"op": "in", "value": target})
    if op == "in":
        return any(json_test(document, keys, {"op": "=", "value": t}) for t in target)
    if op == "between":
        low, high = target
        return json_test(document, keys, {"op": ">=", "value": low}) and json_test(
            document, keys, {"op": "<=", "value": high}
        )
    if op == "contains":
        return kind == "text" and target in value
    if isinstance(target, bool):
        return op == "=" and kind == ("true" if target else "false")
    if isinstance(target, str):
        return kind == "text" and compare(value, op, target)
    return kind == "number" and compare(value, op, target)
