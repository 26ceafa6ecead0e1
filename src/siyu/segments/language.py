"""The segment language: text ⇄ JSON (the checks both forms go through are in checks.py).

Text is what an operator types; JSON is what the console builder edits and what is stored.
`parse` turns text into JSON, `to_text` turns JSON back into text in one canonical spelling,
and `check` validates JSON from anywhere with the same rules, so either converts to the other
without loss: check(parse(to_text(q))) == check(q).

JSON nodes:
- {"and": [node, …]}, {"or": [node, …]}, {"not": node}
- {"field": "total_spent", "op": ">=", "value": {"money": 50000}}
- {"call": "tag", "args": {"name": "VIP"}}
- {"call": "events", "args": {"name": "page_viewed", "within": {"duration": 7, "unit": "d"}},
   "where": [{"field": "url", "op": "contains", "value": "/pricing"}],
   "measure": "count", "op": ">=", "value": 1}
Values: text and numbers as themselves, true/false, {"money": fen}, {"duration": n, "unit":
"h"|"d"|"w"}, {"ago": n, "unit": …} (a time that far back), {"date": "2026-01-01"}, and lists
for in, not in and between.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from siyu.segments.checks import COMPARE_SPELLINGS, QueryError, check
from siyu.segments.fields import FUNCTIONS
from siyu.segments.grammar import parser

MAX_QUERY_LENGTH = 10_000

_EXPECTED = {
    "_LPAR": "(",
    "_RPAR": ")",
    "_COMMA": ",",
    "_COLON": ":",
    "_DOT": ".",
    "COMPARE": "a comparison (=, !=, <, <=, >, >=)",
    "_AND": "and",
    "_OR": "or",
    "_NOT": "not",
    "_IN": "in",
    "_CONTAINS": "contains",
    "_BETWEEN": "between",
    "_IS": "is",
    "_SET": "set",
    "_AGO": "ago",
    "_TRUE": "true",
    "_FALSE": "false",
    "STRING": 'a text in quotes ("…")',
    "NUMBER": "a number",
    "MONEY": "an amount (¥500)",
    "DURATION": "a duration (30d)",
    "DATE": "a date (2026-01-01)",
    "NAME": "a name",
    "$END": "the end of the query",
}


# ---------------------------------------------------------------- text → JSON


def parse(text: str) -> dict[str, Any]:
    """Text to checked JSON; a QueryError says where and what went wrong."""
    if not text or not text.strip():
        raise QueryError('the query is empty; write a condition such as tag("VIP")')
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"the query is longer than {MAX_QUERY_LENGTH:,} characters")
    try:
        tree = parser().parse(text)
    except UnexpectedInput as error:
        raise _syntax_error(text, error) from None
    positions: dict[int, tuple[int, int]] = {}
    node = _Reader(positions).node(tree)
    return check(node, _positions=positions)


def _syntax_error(text: str, error: UnexpectedInput) -> QueryError:
    expected = sorted({_EXPECTED.get(name, name) for name in _expected_names(error)})
    line, column = error.line, error.column
    if isinstance(error, UnexpectedEOF) or (
        isinstance(error, UnexpectedToken) and error.token.type == "$END"
    ):
        lines = text.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
        message = "the query ends too early"
    elif isinstance(error, UnexpectedCharacters):
        message = f"unexpected character {text[error.pos_in_stream]!r}"
    else:
        token = error.token  # type: ignore[attr-defined]
        message = f"unexpected {token.value!r}"
    if expected:
        message += "; expected " + " or ".join(_quoted(e) for e in expected)
    return QueryError(message, line=line, column=column, expected=expected)


def _quoted(expected: str) -> str:
    return expected if " " in expected else f"'{expected}'"


def _expected_names(error: UnexpectedInput) -> set[str]:
    names = getattr(error, "expected", None) or getattr(error, "allowed", None) or set()
    return {name for name in names if not name.startswith("__ANON")}


class _Reader:
    """Lark's tree to raw JSON nodes, remembering where each node was written."""

    def __init__(self, positions: dict[int, tuple[int, int]]) -> None:
        self.positions = positions

    def _at(self, node: dict[str, Any], item: Tree | Token) -> dict[str, Any]:
        meta = item if isinstance(item, Token) else item.meta
        if getattr(meta, "line", None) is not None:
            self.positions[id(node)] = (meta.line, meta.column)
        return node

    def node(self, tree: Tree) -> dict[str, Any]:
        kind = tree.data
        if kind == "or_expr":
            return self._at({"or": [self.node(child) for child in tree.children]}, tree)
        if kind == "and_expr":
            return self._at({"and": [self.node(child) for child in tree.children]}, tree)
        if kind == "negation":
            return self._at({"not": self.node(tree.children[0])}, tree)
        return self.condition(tree)

    def condition(self, tree: Tree) -> dict[str, Any]:
        subject, *rest = tree.children
        node: dict[str, Any]
        if subject.data == "path":
            node = {"field": _path(subject)}
        else:
            name, *parts = subject.children
            node = {"call": str(name)}
            arguments = next((p for p in parts if isinstance(p, Tree)), None)
            measure = next((p for p in parts if isinstance(p, Token)), None)
            if arguments is not None:
                self.arguments(node, arguments)
            if measure is not None:
                node["measure"] = str(measure)
        if rest:
            node.update(self.test(rest[0]))
        return self._at(node, subject)

    def arguments(self, node: dict[str, Any], tree: Tree) -> None:
        positional: list[Any] = []
        named: dict[str, Any] = {}
        where: list[dict[str, Any]] = []
        for argument in tree.children:
            if argument.data == "named":
                key, value = argument.children
                if str(key) in named:
                    raise QueryError(f"{key} is given twice", line=key.line, column=key.column)
                named[str(key)] = _value(value)
            elif argument.data == "filter":
                path, test = argument.children
                condition = {"field": _path(path), **self.test(test)}
                where.append(self._at(condition, path))
            else:
                positional.append(self._at({"value": _value(argument.children[0])}, argument))
        if positional:
            node["_positional"] = positional
        node["args"] = named
        if where:
            node["where"] = where

    def test(self, tree: Tree) -> dict[str, Any]:
        kind, children = tree.data, tree.children
        if kind == "compare":
            operator, value = children
            return {
                "op": COMPARE_SPELLINGS.get(str(operator), str(operator)),
                "value": _value(value),
            }
        if kind in ("is_in", "not_in"):
            values = [_value(v) for v in children[0].children]
            return {"op": "in" if kind == "is_in" else "not_in", "value": values}
        if kind == "contains":
            return {"op": "contains", "value": _value(children[0])}
        if kind == "between":
            return {"op": "between", "value": [_value(children[0]), _value(children[1])]}
        return {"op": kind}  # is_set, is_not_set


def _path(tree: Tree) -> str:
    return ".".join(str(part) for part in tree.children)


def _value(tree: Tree) -> Any:
    kind, token = tree.data, str(tree.children[0]) if tree.children else ""
    if kind == "string":
        return _string(token)
    if kind == "number":
        number = Decimal(token)
        return (
            int(number)
            if number == number.to_integral_value() and "." not in token
            else float(token)
        )
    if kind == "money":
        amount = Decimal(token.strip("¥￥元 \t"))
        return {"money": int(amount * 100)}
    if kind in ("duration", "ago"):
        return {"duration" if kind == "duration" else "ago": int(token[:-1]), "unit": token[-1]}
    if kind == "date":
        return {"date": token}
    if kind == "true":
        return True
    if kind == "false":
        return False
    return {"word": token}  # a bare word: an identifier argument, or text


def _string(token: str) -> str:
    if token[0] in "“‘":
        return token[1:-1]
    if token[0] == "'":
        token = '"' + token[1:-1].replace('\\"', '"').replace('"', '\\"') + '"'
        token = token.replace("\\'", "'")
    try:
        return str(json.loads(token))
    except json.JSONDecodeError:
        return token[1:-1]


# ---------------------------------------------------------------- JSON → text


def to_text(node: dict[str, Any]) -> str:
    """Checked JSON as text, in the one spelling `parse` reads back to the same JSON."""
    return _text(check(node), top=True)


def _text(node: dict[str, Any], *, top: bool = False, inside: str | None = None) -> str:
    for joiner in ("or", "and"):
        if joiner in node:
            text = f" {joiner} ".join(_text(part, inside=joiner) for part in node[joiner])
            # "and" binds tighter than "or": only an or inside an and needs brackets.
            return f"({text})" if (inside == "and" and joiner == "or") or inside == "not" else text
    if "not" in node:
        return "not " + _text(node["not"], inside="not")
    if "field" in node:
        return node["field"] + _test_text(node)
    function = FUNCTIONS[node["call"]]
    args = node["args"]

    def shown(name: str) -> str:
        argument = function.argument(name)
        value = args[name]
        return (
            value if argument is not None and argument.type == "identifier" else _value_text(value)
        )

    # Unnamed arguments first, then property conditions, then named arguments.
    parts = [shown(name) for name in function.positional if name in args]
    parts += [c["field"] + _test_text(c) for c in node.get("where", [])]
    parts += [
        f"{a.name}: {shown(a.name)}"
        for a in function.arguments
        if a.name in args and a.name not in function.positional
    ]
    text = f"{function.name}({', '.join(parts)})"
    if "measure" in node:
        text += f".{node['measure']}" + (_test_text(node) if "op" in node else "")
    return text


def _test_text(node: dict[str, Any]) -> str:
    op = node["op"]
    if op in ("is_set", "is_not_set"):
        return " is set" if op == "is_set" else " is not set"
    value = node["value"]
    if op in ("in", "not_in"):
        listed = ", ".join(_value_text(v) for v in value)
        return f" {'in' if op == 'in' else 'not in'} ({listed})"
    if op == "between":
        return f" between {_value_text(value[0])} and {_value_text(value[1])}"
    if op == "contains":
        return f" contains {_value_text(value)}"
    return f" {op} {_value_text(value)}"


def _value_text(value: Any) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Plain decimal notation: the grammar reads no exponents.
        text = format(Decimal(repr(value)), "f")
        return text if "." in text else text + ".0"
    if "money" in value:
        yuan, cents = divmod(value["money"], 100)
        return f"¥{yuan}" if not cents else f"¥{yuan}.{cents:02d}"
    if "duration" in value:
        return f"{value['duration']}{value['unit']}"
    if "ago" in value:
        return f"{value['ago']}{value['unit']} ago"
    return str(value["date"])
