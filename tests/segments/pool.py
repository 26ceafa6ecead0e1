"""A small random pool to run segment queries over, and a strategy for random queries.

The values the data is drawn from are the ones the queries are drawn from, so conditions
match some contacts and not others, and edge cases (missing values, empty strings, other
currencies, absorbed contacts' events, trait types that differ from the literal) come up often.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st
from sqlalchemy.orm import Session

from siyu.analytics.models import RfmScore
from siyu.contacts import rollups
from siyu.contacts.models import (
    Contact,
    ContactAlias,
    ContactConsent,
    ContactIdentity,
    ContactOrder,
    ContactOrderLine,
)
from siyu.contacts.tags import ensure_tags, link_tags
from siyu.events.models import Event, EventSource
from siyu.segments.language import parse
from siyu.segments.models import Segment, SegmentMember
from siyu.staff.models import StaffUser

NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
NAMES = ["王芳", "李伟", "Anna", "anna", "张%_", "", None]
CITIES = ["杭州", "上海", "北京", "", None]
SOURCES = ["taobao", "jd", "events", ""]
TAGS = [("", "VIP"), ("兴趣", "护肤"), ("人群", "VIP")]
KINDS = ["phone", "email", "wechat_unionid", "wechat_openid", "taobao_nick", "anonymous_id"]
CHANNELS = ["email", "sms", "wecom", "wechat_oa"]
PLATFORMS = ["taobao", "jd", "douyin"]
SHOPS = ["旗舰店", "outlet"]
COUPONS = [None, "", "SPRING", "VIP10"]
TITLES = ["玫瑰精华 30ml", "保湿面霜", "Rose serum"]
SKUS = [None, "SKU-1", "SKU-2"]
STATUSES = ["pending", "paid", "shipped", "completed", "cancelled", "refunded"]
URLS = ["/pricing", "/pricing/pro", "/blog", "/"]
EVENT_NAMES = ["signed_up", "page_viewed", "added_to_cart"]
TRAIT_VALUES: dict[str, list[Any]] = {
    "gender": ["f", "m", 1, None, True],
    "age": [18, 30, 30.5, "30", None, False],
    "vip": [True, False, "yes", 0],
}
STAFF = ["wang", "li", "zhao"]
RFM_SEGMENTS = ["champions", "at_risk", "lost", "others"]
STAGES = ["visitor", "lead", "new_customer", "repeat", "loyal", "at_risk", "churned"]


# Times fall on a few days, and queries name the same days, so that the edges of a day, a
# window or a relative time are crossed often.
DAYS = [0, 1, 2, 7, 29, 30, 31, 89, 90, 91, 180, 365, 366, 400]


def _time(rng: random.Random, days: int = 400) -> datetime:
    day = rng.choice([d for d in DAYS if d <= days])
    return NOW - timedelta(days=day, seconds=rng.randrange(-43200, 43200))


def build(session: Session, seed: int, size: int = 14) -> list[int]:
    """Fill the (rolled-back) session with a random pool; returns the contact ids."""
    rng = random.Random(seed)
    staff = [StaffUser(login=login, role="staff") for login in STAFF[:2]]
    session.add_all(staff)
    session.flush()
    contacts = []
    for _ in range(size):
        traits: dict[str, Any] = {}
        for key, values in TRAIT_VALUES.items():
            if rng.random() < 0.7:
                traits[key] = rng.choice(values)
        if rng.random() < 0.3:
            traits["level"] = {"tier": rng.choice(["gold", "silver"])}
        if rng.random() < 0.3:
            traits["channel_code"] = rng.choice(["QR1", "QR2"])
        contact = Contact(
            name=rng.choice(NAMES),
            city=rng.choice(CITIES),
            province=rng.choice(["浙江", None]),
            source=rng.choice(SOURCES),
            owner_id=rng.choice([None, *(s.id for s in staff)]),
            traits=traits,
            created_at=_time(rng),
        )
        contacts.append(contact)
    session.add_all(contacts)
    session.flush()
    ids = [c.id for c in contacts]
    tag_ids = ensure_tags(session, TAGS)
    links = [(cid, tag_ids[t]) for cid in ids for t in TAGS if rng.random() < 0.3]
    link_tags(session, links, source="manual", actor="test")
    for cid in ids:
        for kind in rng.sample(KINDS, rng.randrange(3)):
            session.add(ContactIdentity(contact_id=cid, kind=kind, value=f"{kind}-{cid}"))
        for channel in rng.sample(CHANNELS, rng.randrange(3)):
            session.add(ContactConsent(contact_id=cid, channel=channel, granted=rng.random() < 0.6))
    number = 0
    for cid in ids:
        for _ in range(rng.randrange(5)):
            number += 1
            paid = rng.choice([0, 5000, 12900, 29900, 59900])
            order = ContactOrder(
                contact_id=cid,
                platform=rng.choice(PLATFORMS),
                shop=rng.choice(SHOPS),
                platform_order_id=f"O{seed}-{number}",
                status=rng.choice(STATUSES),
                currency="CNY" if rng.random() < 0.9 else "USD",
                total_amount=paid,
                paid_amount=paid,
                refunded_amount=rng.choice([0, 0, 0, 5000]) if paid else 0,
                placed_at=_time(rng),
                coupon_code=rng.choice(COUPONS),
            )
            session.add(order)
            session.flush()
            for line_no in range(1, rng.randrange(1, 3) + 1):
                session.add(
                    ContactOrderLine(
                        order_id=order.id,
                        line_no=line_no,
                        title=rng.choice(TITLES),
                        sku=rng.choice(SKUS),
                    )
                )
    session.flush()
    rollups.recompute(session, ids)
    source = EventSource(name="site", prefix=f"wk_test{seed}", secret_hash="-" * 64)
    session.add(source)
    session.flush()
    # Two absorbed contacts whose events must count for their survivors.
    absorbed = {max(ids) + 1000 + i: rng.choice(ids) for i in range(2)}
    for old_id, survivor in absorbed.items():
        session.add(ContactAlias(old_id=old_id, contact_id=survivor))
    owners = [*ids, *list(absorbed) * 4, None]
    for number in range(size * 3):
        kind = rng.choice(["track", "track", "page"])
        properties: dict[str, Any] = {"url": rng.choice(URLS)}
        if rng.random() < 0.5:
            properties["price"] = rng.choice([10, 99.5, "99.5"])
        session.add(
            Event(
                source_id=source.id,
                contact_id=rng.choice(owners),
                type=kind,
                name=rng.choice(EVENT_NAMES) if kind == "track" else "首页",
                message_id=f"m{number}",
                properties=properties,
                timestamp=_time(rng, 30),
                received_at=NOW,
            )
        )
    for cid in ids:
        if rng.random() < 0.6:
            r, f, m = rng.randint(1, 5), rng.randint(1, 5), rng.randint(1, 5)
            session.add(
                RfmScore(
                    contact_id=cid, recency_days=rng.randint(0, 365), frequency=f, monetary=m * 100,
                    recency_score=r, frequency_score=f, monetary_score=m,
                    score=100 * r + 10 * f + m,
                    segment=rng.choice(RFM_SEGMENTS), computed_at=NOW,
                )
            )  # fmt: skip
    high = parse("total_spent >= ¥300")
    session.add(
        Segment(name="高价值", kind="dynamic", definition=high, query="total_spent >= ¥300")
    )
    listed = Segment(name="黑名单", kind="static")
    session.add(listed)
    session.flush()
    for cid in rng.sample(ids, 3):
        session.add(SegmentMember(segment_id=listed.id, contact_id=cid, entered_at=NOW))
    session.flush()
    return ids


# ------------------------------------------------------------------ queries


def _ago() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda n, unit: {"ago": n, "unit": unit},
        st.one_of(st.sampled_from(DAYS), st.integers(0, 420)),
        st.sampled_from(["d", "d", "h", "w"]),
    )


def _date() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(st.sampled_from(DAYS), st.integers(-5, 420)).map(
        lambda days: {"date": (NOW - timedelta(days=days)).date().isoformat()}
    )


def _money() -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from([0, 4999, 5000, 12900, 29900, 30000, 100000]).map(
        lambda fen: {"money": fen}
    )


_numbers = st.integers(-1, 6)
_texts = st.sampled_from([n for n in NAMES + CITIES + SOURCES + STAFF if n is not None])
_scalars = st.one_of(
    st.sampled_from(["f", "m", "30", "yes", "gold", "/pricing", "99.5", "QR1"]),
    st.sampled_from([0, 1, 18, 30, 30.5, 99.5, 10]),
    st.booleans(),
)


def _test(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    if kind == "text":
        return st.one_of(
            st.builds(lambda op, v: {"op": op, "value": v}, st.sampled_from(["=", "!="]), _texts),
            st.builds(
                lambda op, v: {"op": op, "value": v},
                st.sampled_from(["in", "not_in"]),
                st.lists(_texts, min_size=1, max_size=3),
            ),
            st.builds(
                lambda v: {"op": "contains", "value": v},
                st.sampled_from(["王", "nn", "%", "州", "an"]),
            ),
            st.sampled_from([{"op": "is_set"}, {"op": "is_not_set"}]),
        )
    if kind in ("number", "money"):
        values = _numbers if kind == "number" else _money()
        ops = ["=", "!=", "<", "<=", ">", ">="]
        strategies = [
            st.builds(lambda op, v: {"op": op, "value": v}, st.sampled_from(ops), values),
            st.builds(lambda a, b: {"op": "between", "value": [a, b]}, values, values),
        ]
        if kind == "number":
            strategies.append(
                st.builds(
                    lambda op, v: {"op": op, "value": v},
                    st.sampled_from(["in", "not_in"]),
                    st.lists(_numbers, min_size=1, max_size=3),
                )
            )
        return st.one_of(*strategies)
    if kind == "time":
        instants = st.one_of(_ago(), _date())
        return st.one_of(
            st.builds(
                lambda op, v: {"op": op, "value": v},
                st.sampled_from(["<", "<=", ">", ">="]),
                instants,
            ),
            st.builds(lambda a, b: {"op": "between", "value": [a, b]}, instants, instants),
            st.sampled_from([{"op": "is_set"}, {"op": "is_not_set"}]),
        )
    # any: traits and event properties
    return st.one_of(
        st.builds(
            lambda op, v: {"op": op, "value": v},
            st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
            _scalars,
        ),
        st.builds(
            lambda op, v: {"op": op, "value": v},
            st.sampled_from(["in", "not_in"]),
            st.lists(_scalars, min_size=1, max_size=3),
        ),
        st.builds(lambda a, b: {"op": "between", "value": [a, b]}, _scalars, _scalars),
        st.builds(lambda v: {"op": "contains", "value": v}, st.sampled_from(["pricing", "o", "3"])),
        st.sampled_from([{"op": "is_set"}, {"op": "is_not_set"}]),
    )


def _field(name: str, kind: str) -> st.SearchStrategy[dict[str, Any]]:
    return _test(kind).map(lambda test: {"field": name, **test})


_within = st.builds(
    lambda n, unit: {"duration": n, "unit": unit},
    st.one_of(st.sampled_from(DAYS[1:]), st.integers(1, 400)),
    st.sampled_from(["d", "w"]),
)


def _orders() -> st.SearchStrategy[dict[str, Any]]:
    args = st.fixed_dictionaries(
        {},
        optional={
            "within": _within,
            "platform": st.sampled_from(PLATFORMS),
            "shop": st.sampled_from(SHOPS),
            "product": st.sampled_from(["精华", "面霜", "Rose", "rose"]),
            "sku": st.sampled_from(["SKU-1", "SKU-2"]),
            "coupon": st.sampled_from([True, "SPRING", "VIP10"]),
        },
    )
    count = st.builds(
        lambda a, t: {"call": "orders", "args": a, "measure": "count", **t}, args, _test("number")
    )
    total = st.builds(
        lambda a, t: {"call": "orders", "args": a, "measure": "sum", **t}, args, _test("money")
    )
    return st.one_of(count, total)


def _events() -> st.SearchStrategy[dict[str, Any]]:
    where = st.lists(
        st.one_of(
            _test("any").map(lambda t: {"field": "url", **t}),
            _test("any").map(lambda t: {"field": "price", **t}),
        ),
        max_size=2,
    )

    def make(name: str, within: Any, conditions: list[Any], test: dict[str, Any]) -> dict[str, Any]:
        args: dict[str, Any] = {"name": name}
        if within is not None:
            args["within"] = within
        node: dict[str, Any] = {"call": "events", "args": args, "measure": "count", **test}
        if conditions:
            node["where"] = conditions
        return node

    return st.builds(
        make, st.sampled_from(EVENT_NAMES), st.none() | _within, where, _test("number")
    )


def _swap(test: dict[str, Any], words: list[str]) -> dict[str, Any]:
    """A text test with its values drawn from these words instead."""
    value = test.get("value")
    index = sum(map(ord, str(value))) % len(words)
    if isinstance(value, list):
        return {**test, "value": [words[(index + n) % len(words)] for n in range(len(value))]}
    if "value" in test:
        return {**test, "value": words[index] if test["op"] != "contains" else words[index][:3]}
    return test


conditions = st.one_of(
    *(_field(n, "text") for n in ("name", "city", "province", "source", "owner", "channel_code")),
    _test("text").map(lambda t: {"field": "stage", **_swap(t, STAGES)}),
    _test("text").map(lambda t: {"field": "rfm.segment", **_swap(t, RFM_SEGMENTS)}),
    *(_field(n, "number") for n in ("rfm.score", "rfm.r", "rfm.f", "rfm.m")),
    _field("order_count", "number"),
    *(_field(n, "money") for n in ("total_spent", "refunded_amount", "average_order_value")),
    *(_field(n, "time") for n in ("created_at", "first_order_at", "last_order_at")),
    st.builds(
        lambda t: {"field": "platforms", **t},
        st.one_of(
            st.sampled_from(PLATFORMS).map(lambda p: {"op": "contains", "value": p}),
            st.sampled_from([{"op": "is_set"}, {"op": "is_not_set"}]),
        ),
    ),
    *(_field(f"traits.{k}", "any") for k in ("gender", "age", "vip", "level.tier", "missing")),
    st.sampled_from(["VIP", "兴趣:护肤", "人群:VIP", "新客"]).map(
        lambda t: {"call": "tag", "args": {"name": t}}
    ),
    st.sampled_from(["phone", "wechat", "wecom", "email", "jd_pin"]).map(
        lambda k: {"call": "has", "args": {"kind": k}}
    ),
    st.sampled_from(CHANNELS).map(lambda c: {"call": "consent", "args": {"channel": c}}),
    st.sampled_from(["高价值", "黑名单"]).map(
        lambda s: {"call": "in_segment", "args": {"name": s}}
    ),
    _orders(),
    _events(),
)

queries = st.recursive(
    conditions,
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(lambda parts: {"and": parts}),
        st.lists(inner, min_size=2, max_size=3).map(lambda parts: {"or": parts}),
        inner.map(lambda part: {"not": part}),
    ),
    max_leaves=6,
)
