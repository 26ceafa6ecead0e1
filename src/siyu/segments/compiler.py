"""Checked segment JSON → one SQLAlchemy Core condition over the contact table.

Every condition compiles to an expression that is true or false, never NULL, so `not` means
what an operator expects: `not city = "杭州"` includes contacts with no city. Conditions on
related rows (tags, identities, consent, orders, events) are `contact.id IN (subquery)`, which
both databases run once as a hash or index lookup instead of once per contact; a count or sum
that zero satisfies (`orders(...).count < 2`) becomes `NOT IN` the contacts that fail it, so
contacts without any order are counted too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Numeric,
    String,
    and_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Session

from siyu.analytics.clv.models import ClvPrediction
from siyu.analytics.models import RfmScore
from siyu.config import get_settings
from siyu.contacts.models import (
    PURCHASE_STATUSES,
    Contact,
    ContactAlias,
    ContactConsent,
    ContactIdentity,
    ContactOrder,
    ContactOrderLine,
    ContactTagLink,
    Tag,
)
from siyu.contacts.tags import parse_tag
from siyu.db.types import UTCDateTime
from siyu.events.models import Event
from siyu.growth.coupons.models import GrowthCoupon, GrowthCouponDefinition
from siyu.segments.checks import QueryError, nearest
from siyu.segments.fields import (
    CLV_COLUMNS,
    DURATION_UNITS,
    FIELDS,
    IDENTITY_GROUPS,
    RFM_COLUMNS,
    TRAITS_PREFIX,
)
from siyu.segments.models import Segment, SegmentMember
from siyu.staff.models import StaffUser

CONTACT = Contact.__table__
# events("page_viewed") and events("screen_viewed") are the page and screen calls; any other
# name is a track call of that name.
EVENT_TYPES_BY_NAME = {"page_viewed": "page", "screen_viewed": "screen"}


@dataclass(frozen=True)
class Scope:
    """What a query is evaluated against: the merchant's zone and currency, the database."""

    zone: ZoneInfo
    currency: str
    dialect: str


@dataclass
class Compiled:
    """A compiled query. Relative times (30d ago, within: 90d) are bound parameters, so the
    same statement runs at any moment with `params(now)`, and is built only once."""

    condition: ColumnElement[bool]
    # Parameter name → how far back from now it stands.
    spans: dict[str, timedelta]

    @property
    def clock_dependent(self) -> bool:
        return bool(self.spans)

    def params(self, now: datetime) -> dict[str, datetime]:
        return {name: now - span for name, span in self.spans.items()}


def compile_query(
    session: Session,
    node: dict[str, Any],
    *,
    inside: int | None = None,
    few: bool = False,
    names: str = "segment_since",
) -> Compiled:
    """Compile a checked query. `inside`: the segment it defines, which it may not include.
    `few`: it will be asked of a handful of contacts (re-evaluating changed ones), so counts
    and sums are asked per contact rather than over every row."""
    settings = get_settings()
    where = Scope(settings.zone, settings.currency, session.get_bind().dialect.name)
    compiler = _Compiler(session, where)
    compiler.narrowed = compiler.few = few
    compiler.names = names
    condition = compiler.node(node, () if inside is None else (inside,))
    return Compiled(condition, {name: span for span, name in compiler.spans.items()})


class _Compiler:
    def __init__(self, session: Session, where: Scope) -> None:
        self.session = session
        self.scope = where
        self.spans: dict[timedelta, str] = {}
        # How the clock's parameters are named: queries run together need names of their own.
        self.names = "segment_since"
        # Whether a cheaper condition beside this one leaves few contacts to look at, and
        # whether the query is asked of a handful of contacts only.
        self.narrowed = self.few = False

    def since(self, span: timedelta) -> Any:
        """The moment `span` before now, as a parameter bound when the query runs."""
        name = self.spans.setdefault(span, f"{self.names}_{len(self.spans)}")
        return bindparam(name, type_=UTCDateTime())

    def node(self, node: dict[str, Any], stack: tuple[int, ...]) -> ColumnElement[bool]:
        if "and" in node:
            # Cheap tests first: both databases stop at the first false term, so the costly
            # ones run only for the contacts that are left. With such a sibling, counts and
            # sums are asked per remaining contact along its index instead of over all rows.
            parts = sorted(node["and"], key=_cost)
            narrowed, self.narrowed = self.narrowed, self.narrowed or _cost(parts[0]) < AGGREGATE
            try:
                return and_(*(self.node(part, stack) for part in parts))
            finally:
                self.narrowed = narrowed
        if "or" in node:
            return or_(*(self.node(part, stack) for part in node["or"]))
        if "not" in node:
            return not_(self.node(node["not"], stack))
        if "field" in node:
            return self.field(node)
        return getattr(self, f"call_{node['call']}")(node, stack)

    # ------------------------------------------------------------ fields

    def field(self, node: dict[str, Any]) -> ColumnElement[bool]:
        name = node["field"]
        if name.startswith(TRAITS_PREFIX):
            return self.json_test(CONTACT.c.traits, name[len(TRAITS_PREFIX) :], node)
        if name == "channel_code":
            return self.json_test(CONTACT.c.traits, "channel_code", node)
        if name == "owner":
            return self.owner(node)
        if name in RFM_COLUMNS or name in CLV_COLUMNS:
            return self.stored(node)
        if name == "stage":
            return self.text_test(CONTACT.c.lifecycle_stage, node)
        kind = FIELDS[name].type
        column = CONTACT.c[name]
        if kind == "time":
            return self.time_test(column, node)
        if kind == "list":
            return self.list_test(column, node)
        if kind == "text":
            return self.text_test(column, node)
        return self.number_test(column, node)

    def text_test(self, column: Any, node: dict[str, Any]) -> ColumnElement[bool]:
        op, value = node["op"], node.get("value")
        present = column.is_not(None)
        if op == "=":
            return and_(present, column == value)
        if op == "!=":
            return or_(column.is_(None), column != value)
        if op == "in":
            return and_(present, column.in_(value))
        if op == "not_in":
            return or_(column.is_(None), column.not_in(value))
        if op == "contains":
            return and_(present, self.position(column, value) > 0)
        if op == "is_set":
            return and_(present, column != "")
        return or_(column.is_(None), column == "")  # is_not_set

    def position(self, text: Any, part: str) -> Any:
        # Case-sensitive substring test without LIKE's wildcards, the same on both databases.
        if self.scope.dialect == "postgresql":
            return func.strpos(text, part)
        return func.instr(text, part)

    def number_test(self, column: Any, node: dict[str, Any]) -> ColumnElement[bool]:
        op, value = node["op"], node.get("value")
        value = [_plain(v) for v in value] if isinstance(value, list) else _plain(value)
        return _compare(column, op, value, nullable=True)

    def time_test(self, column: Any, node: dict[str, Any]) -> ColumnElement[bool]:
        op = node["op"]
        if op == "is_set":
            return column.is_not(None)
        if op == "is_not_set":
            return column.is_(None)
        if op == "between":
            low, high = node["value"]
            return and_(
                column.is_not(None),
                column >= self.instant(low, end=False),
                column < self.instant(high, end=True)
                if "date" in high
                else column <= self.instant(high, end=False),
            )
        value = node["value"]
        # A date is the whole day in the merchant's zone: "< d" is before it starts, "<= d"
        # before it ends, "> d" after it ends, ">= d" from its start.
        day = "date" in value
        if op == "<":
            test = column < self.instant(value, end=False)
        elif op == "<=":
            bound = self.instant(value, end=day)
            test = column < bound if day else column <= bound
        elif op == ">":
            bound = self.instant(value, end=day)
            test = column >= bound if day else column > bound
        else:
            test = column >= self.instant(value, end=False)
        return and_(column.is_not(None), test)

    def instant(self, value: dict[str, Any], *, end: bool) -> Any:
        if "ago" in value:
            return self.since(_span(value["ago"], value["unit"]))
        day = datetime.fromisoformat(value["date"]).replace(tzinfo=self.scope.zone)
        return day + timedelta(days=1) if end else day

    def list_test(self, column: Any, node: dict[str, Any]) -> ColumnElement[bool]:
        op = node["op"]
        if op == "is_set":
            return and_(column.is_not(None), column != "")
        if op == "is_not_set":
            return or_(column.is_(None), column == "")
        # platforms is "jd,taobao": match a whole word between commas.
        wrapped = literal(",") + column + literal(",")
        return and_(column.is_not(None), self.position(wrapped, f",{node['value']},") > 0)

    def stored(self, node: dict[str, Any]) -> ColumnElement[bool]:
        """A figure from the last RFM refresh or lifetime value fit; a contact with none has
        no value, so `!=`, `not in` and `is not set` include it."""
        name = node["field"]
        model: Any = RfmScore if name in RFM_COLUMNS else ClvPrediction
        column = model.__table__.c[{**RFM_COLUMNS, **CLV_COLUMNS}[name]]
        scores = select(model.contact_id)
        op, value = node["op"], node.get("value")
        if op == "is_set":
            return self.holds(scores, model.contact_id)
        if op == "is_not_set":
            return not_(self.holds(scores, model.contact_id))
        if op in ("!=", "not_in"):
            positive = {"op": "=" if op == "!=" else "in", "value": value}
            return not_(self.stored({**node, **positive}))
        if op == "contains":
            test = self.position(column, value) > 0
        else:
            plain = [_plain(v) for v in value] if isinstance(value, list) else _plain(value)
            test = _compare(column, op, plain, nullable=False)
        return self.holds(scores.where(test), model.contact_id)

    def owner(self, node: dict[str, Any]) -> ColumnElement[bool]:
        op, value = node["op"], node.get("value")
        owner_id = CONTACT.c.owner_id
        if op == "is_set":
            return owner_id.is_not(None)
        if op == "is_not_set":
            return owner_id.is_(None)
        logins = select(StaffUser.id)
        positive = {"=": "=", "!=": "=", "in": "in", "not_in": "in", "contains": "contains"}[op]
        if positive == "=":
            logins = logins.where(StaffUser.login == value)
        elif positive == "in":
            logins = logins.where(StaffUser.login.in_(value))
        else:
            logins = logins.where(self.position(StaffUser.login, value) > 0)
        if op in ("!=", "not_in"):
            return or_(owner_id.is_(None), owner_id.not_in(logins))
        return and_(owner_id.is_not(None), owner_id.in_(logins))

    # ------------------------------------------------------------ JSON (traits, properties)

    def json_test(self, column: Any, path: str, node: dict[str, Any]) -> ColumnElement[bool]:
        keys = path.split(".")
        op, value = node["op"], node.get("value")
        if op == "is_set":
            return self.json_type(column, keys).in_(
                ("text", "number", "true", "false", "object", "array")
            )
        if op == "is_not_set":
            return not_(self.json_test(column, path, {"op": "is_set"}))
        if op == "!=":
            return not_(self.json_test(column, path, {"op": "=", "value": value}))
        if op == "not_in":
            return not_(self.json_test(column, path, {"op": "in", "value": value}))
        if op == "in":
            return or_(*(self.json_test(column, path, {"op": "=", "value": v}) for v in value))
        if op == "between":
            low, high = value
            return and_(
                self.json_test(column, path, {"op": ">=", "value": low}),
                self.json_test(column, path, {"op": "<=", "value": high}),
            )
        kind = self.json_type(column, keys)
        if op == "contains":
            return and_(kind == "text", self.position(self.json_text(column, keys), value) > 0)
        if isinstance(value, bool):
            wanted = "true" if value else "false"
            return kind == wanted if op == "=" else false()
        if isinstance(value, str):
            text = self.json_text(column, keys)
            if self.scope.dialect == "postgresql":
                # Byte order, as SQLite compares text, whatever the server's collation.
                text = text.collate("C")
            return and_(kind == "text", _compare(text, op, value, nullable=False))
        number = self.json_number(column, keys)
        return and_(kind == "number", _compare(number, op, value, nullable=False))

    def json_type(self, column: Any, keys: list[str]) -> Any:
        """The JSON type at the path as one spelling: text, number, true, false, object,
        array, null; NULL where nothing is there."""
        if self.scope.dialect == "postgresql":
            typeof = func.jsonb_typeof(_pg_path(column, keys, "#>"))
            spelled = func.coalesce(
                func.nullif(func.replace(typeof, "string", "text"), "boolean"),
                _pg_path(column, keys, "#>>"),  # a boolean as true or false
            )
        else:
            typeof = func.json_type(column, _sqlite_path(keys))
            spelled = func.replace(func.replace(typeof, "integer", "number"), "real", "number")
        # "missing" rather than NULL, so every test on it is true or false.
        return func.coalesce(spelled, "missing")

    def json_text(self, column: Any, keys: list[str]) -> Any:
        if self.scope.dialect == "postgresql":
            return _pg_path(column, keys, "#>>")
        return func.json_extract(column, _sqlite_path(keys))

    def json_number(self, column: Any, keys: list[str]) -> Any:
        if self.scope.dialect == "postgresql":
            # Only read as a number where it is one (the type test guards the cast).
            found = func.jsonb_typeof(_pg_path(column, keys, "#>"))
            return cast(case((found == "number", _pg_path(column, keys, "#>>"))), Numeric)
        return func.json_extract(column, _sqlite_path(keys))

    # ------------------------------------------------------------ functions

    def holds(self, rows: Any, contact_id: Any) -> ColumnElement[bool]:
        """The contact has a row in `rows`. Over the whole pool the rows are read once into a
        lookup; for a handful of contacts each one's rows are found through its index."""
        if self.few:
            return rows.where(contact_id == CONTACT.c.id).exists()
        return CONTACT.c.id.in_(rows)

    def call_tag(self, node: dict[str, Any], stack: tuple[int, ...]) -> ColumnElement[bool]:
        group, name = parse_tag(node["args"]["name"])
        tagged = (
            select(ContactTagLink.contact_id)
            .join(Tag, Tag.id == ContactTagLink.tag_id)
            .where(Tag.tag_group == group, Tag.name == name)
        )
        return self.holds(tagged, ContactTagLink.contact_id)

    def call_has(self, node: dict[str, Any], stack: tuple[int, ...]) -> ColumnElement[bool]:
        kinds = IDENTITY_GROUPS[node["args"]["kind"]]
        known = select(ContactIdentity.contact_id).where(ContactIdentity.kind.in_(kinds))
        return self.holds(known, ContactIdentity.contact_id)

    def call_consent(self, node: dict[str, Any], stack: tuple[int, ...]) -> ColumnElement[bool]:
        granted = select(ContactConsent.contact_id).where(
            ContactConsent.channel == node["args"]["channel"],
            ContactConsent.granted.is_(True),
        )
        return self.holds(granted, ContactConsent.contact_id)

    def call_in_segment(self, node: dict[str, Any], stack: tuple[int, ...]) -> ColumnElement[bool]:
        name = node["args"]["name"]
        segment = self.session.query(Segment).filter(Segment.name == name).one_or_none()
        if segment is None:
            names = list(self.session.scalars(select(Segment.name)))
            suggestion = nearest(name, names) if names else None
            message = f"there is no segment named {name!r}"
            raise QueryError(message + (f"; did you mean {suggestion!r}?" if suggestion else ""))
        if segment.id in stack:
            raise QueryError(
                f"segment {name!r} would contain itself through in_segment(...); "
                "a segment cannot refer back to one that refers to it"
            )
        if segment.kind == "static" or segment.definition is None:
            listed = select(SegmentMember.contact_id).where(SegmentMember.segment_id == segment.id)
            return self.holds(listed, SegmentMember.contact_id)
        return self.node(segment.definition, (*stack, segment.id))

    def call_coupon(self, node: dict[str, Any], stack: tuple[int, ...]) -> ColumnElement[bool]:
        name = node["args"]["name"]
        definition = self.session.scalar(
            select(GrowthCouponDefinition.id).where(GrowthCouponDefinition.name == name)
        )
        if definition is None:
            names = list(self.session.scalars(select(GrowthCouponDefinition.name)))
            suggestion = nearest(name, names) if names else None
            message = f"there is no coupon named {name!r}"
            raise QueryError(message + (f"; did you mean {suggestion!r}?" if suggestion else ""))
        codes = GrowthCoupon.__table__
        held = select(codes.c.contact_id).where(codes.c.definition_id == definition)
        flag = node["measure"]
        if flag == "redeemed":
            held = held.where(codes.c.redeemed_at.is_not(None))
        elif flag == "expired":
            held = held.where(codes.c.redeemed_at.is_(None), codes.c.expired_at.is_not(None))
        elif flag == "live":
            held = held.where(codes.c.redeemed_at.is_(None), codes.c.expired_at.is_(None))
        return self.holds(held, codes.c.contact_id)

    def call_orders(self, node: dict[str, Any], stack: tuple[int, ...]) -> ColumnElement[bool]:
        args = node["args"]
        orders = ContactOrder.__table__
        where = [
            orders.c.status.in_(PURCHASE_STATUSES),
            orders.c.currency == self.scope.currency,
        ]
        if "within" in args:
            where.append(orders.c.placed_at >= self.since(_window(args["within"])))
        if "platform" in args:
            where.append(orders.c.platform == args["platform"])
        if "shop" in args:
            where.append(orders.c.shop == args["shop"])
        if args.get("coupon") is True:
            where += [orders.c.coupon_code.is_not(None), orders.c.coupon_code != ""]
        elif "coupon" in args:
            where.append(orders.c.coupon_code == args["coupon"])
        lines = ContactOrderLine.__table__
        if "product" in args:
            where.append(
                orders.c.id.in_(
                    select(lines.c.order_id).where(
                        self.position(lines.c.title, args["product"]) > 0
                    )
                )
            )
        if "sku" in args:
            where.append(
                orders.c.id.in_(select(lines.c.order_id).where(lines.c.sku == args["sku"]))
            )
        measure = (
            func.count()
            if node["measure"] == "count"
            else func.coalesce(func.sum(orders.c.paid_amount - orders.c.refunded_amount), 0)
        )
        if self.narrowed:
            each = select(measure).where(orders.c.contact_id == CONTACT.c.id, *where)
            return self.compare_each(each.scalar_subquery(), node)
        base = select(orders.c.contact_id).where(*where).group_by(orders.c.contact_id)
        return self.aggregate(base, measure, node)

    def call_events(self, node: dict[str, Any], stack: tuple[int, ...]) -> ColumnElement[bool]:
        args = node["args"]
        events = Event.__table__
        aliases = ContactAlias.__table__
        name = args["name"]
        kind = EVENT_TYPES_BY_NAME.get(name)
        where = [events.c.contact_id.is_not(None)]
        where += (
            [events.c.type == kind] if kind else [events.c.type == "track", events.c.name == name]
        )
        if "within" in args:
            where.append(events.c.timestamp >= self.since(_window(args["within"])))
        for condition in node.get("where", []):
            where.append(self.json_test(events.c.properties, condition["field"], condition))
        # An event keeps the id of the contact it arrived for; a merge may have absorbed that
        # contact since, and the alias names the survivor.
        if self.narrowed:
            own = select(func.count()).where(events.c.contact_id == CONTACT.c.id, *where)
            absorbed = (
                select(func.count())
                .select_from(aliases.join(events, events.c.contact_id == aliases.c.old_id))
                .where(aliases.c.contact_id == CONTACT.c.id, *where)
            )
            total = own.scalar_subquery() + absorbed.scalar_subquery()
            return self.compare_each(total, node)
        owner = func.coalesce(aliases.c.contact_id, events.c.contact_id)
        base = (
            select(owner)
            .select_from(events.outerjoin(aliases, aliases.c.old_id == events.c.contact_id))
            .where(*where)
            .group_by(owner)
        )
        return self.aggregate(base, func.count(), node)

    def compare_each(self, measure: Any, node: dict[str, Any]) -> ColumnElement[bool]:
        op, value = node["op"], node["value"]
        value = [_plain(v) for v in value] if isinstance(value, list) else _plain(value)
        return _compare(measure, op, value, nullable=False)

    def aggregate(self, base: Any, measure: Any, node: dict[str, Any]) -> ColumnElement[bool]:
        op, value = node["op"], node["value"]
        value = [_plain(v) for v in value] if isinstance(value, list) else _plain(value)
        passes = _compare(measure, op, value, nullable=False)
        if _holds_for_zero(op, value):
            # Contacts with no matching row at all pass too: keep everyone but those that fail.
            return CONTACT.c.id.not_in(base.having(not_(passes)))
        return CONTACT.c.id.in_(base.having(passes))


# How costly a condition is to test, lowest first: a contact's own columns, its traits, a
# lookup in a related table, another segment's definition, counting orders or events.
COLUMN, TRAIT, LOOKUP, SEGMENT, AGGREGATE = range(5)


def _cost(node: dict[str, Any]) -> int:
    for joiner in ("and", "or"):
        if joiner in node:
            return max(_cost(part) for part in node[joiner])
    if "not" in node:
        return _cost(node["not"])
    if "field" in node:
        name = node["field"]
        if name in RFM_COLUMNS or name in CLV_COLUMNS:
            return LOOKUP
        return (
            TRAIT if name.startswith(TRAITS_PREFIX) or name in ("channel_code", "owner") else COLUMN
        )
    call = node["call"]
    if call in ("orders", "events"):
        return AGGREGATE
    return SEGMENT if call == "in_segment" else LOOKUP


def _compare(column: Any, op: str, value: Any, *, nullable: bool) -> ColumnElement[bool]:
    present = column.is_not(None) if nullable else true()
    if op == "=":
        return and_(present, column == value)
    if op == "!=":
        return or_(column.is_(None), column != value) if nullable else column != value
    if op == "<":
        return and_(present, column < value)
    if op == "<=":
        return and_(present, column <= value)
    if op == ">":
        return and_(present, column > value)
    if op == ">=":
        return and_(present, column >= value)
    if op == "between":
        return and_(present, column >= value[0], column <= value[1])
    if op == "in":
        return and_(present, column.in_(value))
    if op == "not_in":
        return or_(column.is_(None), column.not_in(value)) if nullable else column.not_in(value)
    raise AssertionError(op)


def _holds_for_zero(op: str, value: Any) -> bool:
    checks = {
        "=": lambda: value == 0,
        "!=": lambda: value != 0,
        "<": lambda: value > 0,
        "<=": lambda: value >= 0,
        ">": lambda: value < 0,
        ">=": lambda: value <= 0,
        "between": lambda: value[0] <= 0 <= value[1],
        "in": lambda: 0 in value,
        "not_in": lambda: 0 not in value,
    }
    return bool(checks[op]())


def _plain(value: Any) -> Any:
    return value["money"] if isinstance(value, dict) and "money" in value else value


def _span(amount: int, unit: str) -> timedelta:
    return timedelta(seconds=amount * DURATION_UNITS[unit])


def _window(value: dict[str, Any]) -> timedelta:
    return _span(value["duration"], value["unit"])


def _sqlite_path(keys: list[str]) -> str:
    return "$" + "".join(f'."{key}"' for key in keys)


def _pg_path(column: Any, keys: list[str], operator: str) -> Any:
    """column #> '{a,b}' (the JSON there) or column #>> '{a,b}' (its text)."""
    path = literal(keys, ARRAY(String()))
    if operator == "#>>":
        return column.op("#>>", return_type=String())(path)
    return column.op("#>", return_type=JSONB())(path)
