"""The console builder's rows ⇄ the segment JSON.

A row reads like a sentence ("Total spent · at least · 500"); a list of rows joined by "all" or
"any" is an and / or of conditions. Queries a row cannot show (nested groups, `in` lists,
event property filters, dates) are edited as text instead: `rows_from` answers None for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from siyu.segments.checks import QueryError, check
from siyu.segments.fields import FIELDS, LIST, MONEY, NUMBER, TEXT, TIME

# Kinds of row beyond the plain fields, and what their value is.
CALLS = ("tag", "has", "consent", "in_segment")
MEASURES = ("orders.count", "orders.sum", "events.count")
COMPARE = (">=", ">", "<=", "<", "=", "!=")
OPERATORS: dict[str, tuple[str, ...]] = {
    TEXT: ("=", "!=", "contains", "is_set", "is_not_set"),
    NUMBER: COMPARE,
    MONEY: COMPARE,
    # Relative times only: "in the last N days" and "more than N days ago".
    TIME: ("within_days", "before_days", "is_set", "is_not_set"),
    LIST: ("contains",),
}
NO_VALUE = ("is_set", "is_not_set")


@dataclass
class Row:
    kind: str = "total_spent"
    op: str = ">="
    value: str = ""
    days: str = ""
    name: str = ""  # the event's name, for events.count
    negate: bool = False


def row_type(kind: str) -> str:
    """text, number, money, time, list, call or measure: which inputs the row shows."""
    if kind in FIELDS:
        return FIELDS[kind].type
    if kind in CALLS:
        return "call"
    return "money" if kind == "orders.sum" else "number"


def operators(kind: str) -> tuple[str, ...]:
    kind_type = row_type(kind)
    return () if kind_type == "call" else OPERATORS[kind_type]


# ---------------------------------------------------------------- rows → JSON


def node_from(join: str, rows: list[Row]) -> dict[str, Any]:
    """The checked JSON of the rows; a QueryError names the row that is wrong."""
    if not rows:
        raise QueryError("add at least one condition")
    parts = []
    for number, row in enumerate(rows, start=1):
        try:
            part = _condition(row)
            parts.append(check({"not": part} if row.negate else part))
        except QueryError as error:
            raise QueryError(f"condition {number}: {_bare(error.message)}") from None
    node = parts[0] if len(parts) == 1 else {"or" if join == "any" else "and": parts}
    return check(node)


def _bare(message: str) -> str:
    return message.split(": ", 1)[1] if message.startswith("$") else message


def _condition(row: Row) -> dict[str, Any]:
    kind = row.kind
    value = row.value.strip()
    if kind in CALLS:
        key = {"tag": "name", "has": "kind", "consent": "channel", "in_segment": "name"}[kind]
        return {"call": kind, "args": {key: value}}
    if kind in MEASURES:
        function, measure = kind.split(".")
        args: dict[str, Any] = {}
        if function == "events":
            args["name"] = row.name.strip()
        if row.days.strip():
            args["within"] = {"duration": _whole(row.days, "days"), "unit": "d"}
        amount = _money(value) if measure == "sum" else _number(value)
        return {"call": function, "args": args, "measure": measure, "op": row.op, "value": amount}
    if kind not in FIELDS:
        raise QueryError(f"unknown condition {kind!r}")
    kind_type = FIELDS[kind].type
    if row.op in NO_VALUE:
        return {"field": kind, "op": row.op}
    if kind_type == TIME:
        ago = {"ago": _whole(value, "days"), "unit": "d"}
        return {"field": kind, "op": ">" if row.op == "within_days" else "<", "value": ago}
    if kind_type == MONEY:
        return {"field": kind, "op": row.op, "value": _money(value)}
    if kind_type == NUMBER:
        return {"field": kind, "op": row.op, "value": _number(value)}
    return {"field": kind, "op": row.op, "value": value}


def _number(text: str) -> int | float:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise QueryError(f"{text!r} is not a number") from None
    return int(number) if number == number.to_integral_value() else float(number)


def _whole(text: str, what: str) -> int:
    number = _number(text)
    if not isinstance(number, int) or number < 0:
        raise QueryError(f"{what}: {text!r} is not a whole number")
    return number


def _money(text: str) -> dict[str, int]:
    cleaned = text.strip().lstrip("¥￥").rstrip("元").replace(",", "").strip()
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise QueryError(f"{text!r} is not an amount in yuan") from None
    if amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise QueryError(f"{text!r} is not an amount in yuan")
    return {"money": int(amount * 100)}


# ---------------------------------------------------------------- JSON → rows


def rows_from(node: dict[str, Any]) -> tuple[str, list[Row]] | None:
    """The rows that show this query, or None when only text can show it."""
    join, parts = "all", [node]
    if "and" in node or "or" in node:
        join, parts = ("all", node["and"]) if "and" in node else ("any", node["or"])
    rows = []
    for part in parts:
        negate = "not" in part
        row = _row(part["not"] if negate else part)
        if row is None:
            return None
        row.negate = negate
        rows.append(row)
    return join, rows


def _row(node: dict[str, Any]) -> Row | None:
    if "call" in node:
        return _call_row(node)
    if "field" not in node or node["field"] not in FIELDS:
        return None
    kind, op, value = node["field"], node["op"], node.get("value")
    kind_type = FIELDS[kind].type
    if op in NO_VALUE and op in OPERATORS[kind_type]:
        return Row(kind, op)
    if kind_type == TIME:
        if not (isinstance(value, dict) and value.get("unit") == "d" and op in ("<", ">")):
            return None
        return Row(kind, "within_days" if op == ">" else "before_days", str(value["ago"]))
    if op not in OPERATORS[kind_type]:
        return None
    if kind_type == MONEY:
        return Row(kind, op, _yuan(value["money"]))
    return Row(kind, op, str(value))


def _call_row(node: dict[str, Any]) -> Row | None:
    name, args = node["call"], node["args"]
    if name in CALLS:
        return Row(name, "", str(next(iter(args.values()))))
    kind = f"{name}.{node['measure']}"
    allowed = {"within"} | ({"name"} if name == "events" else set())
    if (
        kind not in MEASURES
        or set(args) - allowed
        or node.get("where")
        or node["op"] not in COMPARE
    ):
        return None
    within = args.get("within")
    if within is not None and within["unit"] != "d":
        return None
    value = node["value"]
    shown = _yuan(value["money"]) if isinstance(value, dict) else str(value)
    return Row(
        kind,
        node["op"],
        shown,
        days=str(within["duration"]) if within else "",
        name=args.get("name", ""),
    )


def _yuan(fen: int) -> str:
    yuan, cents = divmod(fen, 100)
    return str(yuan) if not cents else f"{yuan}.{cents:02d}"
