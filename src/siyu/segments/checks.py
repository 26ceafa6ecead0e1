"""The checks every segment query goes through, whether it was typed as text or sent as JSON:
known fields and functions, operators that fit a field's type, values of the right kind, with
a message that says where and suggests the nearest name."""

from __future__ import annotations

import difflib
import math
import re
from datetime import date
from typing import Any

from siyu.errors import Invalid
from siyu.segments.fields import (
    ANY,
    FIELDS,
    FUNCTIONS,
    LIST,
    MONEY,
    NUMBER,
    OPERATORS,
    TEXT,
    TIME,
    TRAITS_PREFIX,
    Function,
    known_names,
)

MAX_CONDITIONS = 200
MAX_DEPTH = 32
_KEY = re.compile(r"^(?!\d)\w{1,64}$")
# Comparison spellings that mean the same as the canonical one.
COMPARE_SPELLINGS = {"==": "=", "<>": "!=", "≠": "!=", "≤": "<=", "≥": ">="}


class QueryError(Invalid):
    """A query that cannot be read or does not make sense, with where and what was expected."""

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        path: str | None = None,
        expected: list[str] | None = None,
        suggestion: str | None = None,
    ) -> None:
        where = f"line {line}, column {column}: " if line is not None else ""
        where = f"{path}: " if path and not where else where
        super().__init__(
            f"{where}{message}",
            line=line,
            column=column,
            path=path,
            expected=expected or [],
            suggestion=suggestion,
        )
        self.line, self.column, self.path = line, column, path
        self.expected, self.suggestion = expected or [], suggestion


def check(node: Any, *, _positions: dict[int, tuple[int, int]] | None = None) -> dict[str, Any]:
    """The node checked and in canonical shape; a QueryError for anything wrong."""
    checker = _Checker(_positions or {})
    result = checker.node(node, "$", 0)
    if checker.conditions > MAX_CONDITIONS:
        raise QueryError(f"a query can have at most {MAX_CONDITIONS} conditions")
    return result


class _Checker:
    def __init__(self, positions: dict[int, tuple[int, int]]) -> None:
        self.positions = positions
        self.conditions = 0

    def fail(self, node: Any, path: str, message: str, suggestion: str | None = None) -> QueryError:
        line, column = self.positions.get(id(node), (None, None))
        if suggestion:
            message += f"; did you mean {suggestion!r}?"
        return QueryError(
            message,
            line=line,
            column=column,
            path=None if line is not None else path,
            suggestion=suggestion,
        )

    def node(self, node: Any, path: str, depth: int) -> dict[str, Any]:
        if depth > MAX_DEPTH:
            raise self.fail(node, path, f"conditions nest deeper than {MAX_DEPTH} levels")
        if not isinstance(node, dict):
            raise self.fail(node, path, "expected a condition object")
        for joiner in ("and", "or"):
            if joiner in node:
                parts = node[joiner]
                if not isinstance(parts, list) or not parts:
                    raise self.fail(node, path, f"{joiner!r} needs a list of conditions")
                checked = [
                    self.node(p, f"{path}.{joiner}[{i}]", depth + 1) for i, p in enumerate(parts)
                ]
                # a and (b and c) is a and b and c: one spelling for one meaning.
                flat: list[dict[str, Any]] = []
                for part in checked:
                    flat.extend(part.get(joiner, [part]))
                return flat[0] if len(flat) == 1 else {joiner: flat}
        if "not" in node:
            return {"not": self.node(node["not"], f"{path}.not", depth + 1)}
        self.conditions += 1
        if "field" in node:
            return self.field(node, path)
        if "call" in node:
            return self.call(node, path)
        raise self.fail(node, path, "expected and, or, not, a field or a function call")

    def field(self, node: dict[str, Any], path: str) -> dict[str, Any]:
        name = node["field"]
        if not isinstance(name, str):
            raise self.fail(node, path, "field must be a name")
        if name.startswith(TRAITS_PREFIX):
            keys = name[len(TRAITS_PREFIX) :].split(".")
            if not all(_KEY.match(key) for key in keys):
                raise self.fail(node, path, f"{name!r} is not a trait name")
            kind = ANY
        elif name in FIELDS:
            kind = FIELDS[name].type
        elif name in FUNCTIONS:
            raise self.fail(node, path, f"{name} is a function; write {_example(FUNCTIONS[name])}")
        else:
            raise self.fail(node, path, f"unknown field {name!r}", nearest(name))
        return {"field": name, **self.test(node, path, kind, name)}

    def call(self, node: dict[str, Any], path: str) -> dict[str, Any]:
        name = node["call"]
        function = FUNCTIONS.get(name) if isinstance(name, str) else None
        if function is None:
            suggestion = nearest(str(name))
            raise self.fail(node, path, f"unknown function {name!r}", suggestion)
        args = self.arguments(node, path, function)
        result: dict[str, Any] = {"call": function.name, "args": args}
        where = node.get("where") or []
        if where and not function.filters:
            raise self.fail(node, path, f"{function.name}(...) takes no property conditions")
        if where:
            if not isinstance(where, list):
                raise self.fail(node, path, "where must be a list of property conditions")
            result["where"] = [self.property(w, f"{path}.where[{i}]") for i, w in enumerate(where)]
        measure = node.get("measure")
        if function.flags:
            if measure not in function.flags:
                flags = " or ".join(f".{f}" for f in function.flags)
                found = f"has no .{measure}" if measure is not None else f"needs {flags}"
                raise self.fail(
                    node,
                    path,
                    f"{function.name}(...) {found}; e.g. {_example(function)}",
                    nearest(str(measure), list(function.flags)) if measure else None,
                )
            if "op" in node:
                raise self.fail(
                    node,
                    path,
                    f"{function.name}(...).{measure} is true or false on its own; "
                    "remove the comparison after it",
                )
            result["measure"] = measure
        elif function.measures:
            if measure is None:
                measures = " or ".join(f".{m}" for m in function.measures)
                raise self.fail(
                    node,
                    path,
                    f"{function.name}(...) needs {measures} and a comparison, "
                    f"e.g. {_example(function)}",
                )
            if measure not in function.measures:
                raise self.fail(
                    node,
                    path,
                    f"{function.name}(...) has no .{measure}",
                    nearest(str(measure), list(function.measures)),
                )
            result["measure"] = measure
            if "op" not in node:
                raise self.fail(node, path, f"{function.name}(...).{measure} needs a comparison")
            result.update(self.test(node, path, function.measures[measure], f".{measure}"))
        else:
            if measure is not None:
                raise self.fail(node, path, f"{function.name}(...) has no .{measure}")
            if "op" in node:
                raise self.fail(
                    node,
                    path,
                    f"{function.name}(...) is true or false on its own; "
                    "remove the comparison after it",
                )
        return result

    def arguments(self, node: dict[str, Any], path: str, function: Function) -> dict[str, Any]:
        given = node.get("args") or {}
        if not isinstance(given, dict):
            raise self.fail(node, path, "args must be an object")
        args = dict(given)
        positional = node.get("_positional", [])
        if len(positional) > len(function.positional):
            extra = positional[len(function.positional)]
            raise self.fail(
                extra,
                path,
                f"{function.name}(...) takes at most "
                f"{len(function.positional)} unnamed argument(s)",
            )
        for item, name in zip(positional, function.positional, strict=False):
            if name in args:
                raise self.fail(item, path, f"{name} is given twice")
            args[name] = item["value"]
        checked: dict[str, Any] = {}
        for key, value in args.items():
            argument = function.argument(key)
            if argument is None:
                names = [a.name for a in function.arguments]
                raise self.fail(
                    node,
                    f"{path}.args.{key}",
                    f"{function.name}(...) has no argument {key!r}",
                    nearest(key, names),
                )
            checked[key] = self.argument_value(node, f"{path}.args.{key}", function, key, value)
        for argument in function.arguments:
            if argument.required and argument.name not in checked:
                raise self.fail(
                    node,
                    path,
                    f"{function.name}(...) needs {argument.name}, e.g. {_example(function)}",
                )
        return {a.name: checked[a.name] for a in function.arguments if a.name in checked}

    def argument_value(self, node: Any, path: str, function: Function, key: str, value: Any) -> Any:
        argument = function.argument(key)
        assert argument is not None
        word = value.get("word") if isinstance(value, dict) else None
        if argument.type == "duration":
            if not _is_duration(value, "duration"):
                raise self.fail(node, path, f"{key} needs a duration such as 30d, 12h or 2w")
            return _duration(value, "duration")
        if key == "coupon" and value is True:
            return True  # any coupon at all
        text = word if word is not None else value
        if not isinstance(text, str) or not text:
            raise self.fail(node, path, f'{key} needs a text such as "…"')
        if argument.choices and text not in argument.choices:
            raise self.fail(
                node,
                path,
                f"{key} {text!r} is not one of {', '.join(argument.choices)}",
                nearest(text, list(argument.choices)),
            )
        return text

    def property(self, node: Any, path: str) -> dict[str, Any]:
        if not isinstance(node, dict) or not isinstance(node.get("field"), str):
            raise self.fail(node, path, "a property condition needs a field")
        keys = node["field"].split(".")
        if not all(_KEY.match(key) for key in keys):
            raise self.fail(node, path, f"{node['field']!r} is not a property name")
        return {"field": node["field"], **self.test(node, path, ANY, node["field"])}

    def test(self, node: dict[str, Any], path: str, kind: str, subject: str) -> dict[str, Any]:
        op = node.get("op")
        if op is None:
            raise self.fail(
                node, path, f"{subject} needs a comparison, e.g. {_sample(kind, subject)}"
            )
        op = COMPARE_SPELLINGS.get(op, op)
        if op not in OPERATORS[ANY]:
            raise self.fail(node, path, f"unknown comparison {op!r}")
        if op not in OPERATORS[kind]:
            allowed = ", ".join(o.replace("_", " ") for o in OPERATORS[kind])
            raise self.fail(
                node,
                path,
                f"{subject} cannot be compared with {op.replace('_', ' ')}; use {allowed}",
            )
        if op in ("is_set", "is_not_set"):
            return {"op": op}
        if "value" not in node:
            raise self.fail(node, path, f"{subject} {op} needs a value")
        value = node["value"]
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                raise self.fail(node, path, f'{op.replace("_", " ")} needs a list: ("a", "b")')
            values = [self.scalar(node, path, kind, subject, v) for v in value]
            return {"op": op, "value": values}
        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                raise self.fail(node, path, "between needs two values: between 1 and 5")
            low, high = (self.scalar(node, path, kind, subject, v) for v in value)
            return {"op": op, "value": [low, high]}
        if op == "contains":
            text = value.get("word") if isinstance(value, dict) else value
            if not isinstance(text, str):
                raise self.fail(node, path, f'contains needs a text: {subject} contains "…"')
            return {"op": op, "value": text}
        return {"op": op, "value": self.scalar(node, path, kind, subject, value)}

    def scalar(self, node: Any, path: str, kind: str, subject: str, value: Any) -> Any:
        if isinstance(value, dict) and "word" in value:
            value = value["word"]  # a bare word where a value goes is text
        if kind in (TEXT, LIST):
            if isinstance(value, str):
                return value
            raise self.fail(node, path, f'{subject} is text; write it in quotes: "…"')
        if kind == NUMBER:
            if _is_number(value):
                return value
            raise self.fail(node, path, f"{subject} needs a number")
        if kind == MONEY:
            money = value.get("money") if isinstance(value, dict) and len(value) == 1 else None
            if isinstance(money, int) and not isinstance(money, bool) and 0 <= money < 10**15:
                return {"money": money}
            if value == 0 and not isinstance(value, bool):
                return {"money": 0}
            raise self.fail(node, path, f"{subject} is an amount of money; write it as ¥500")
        if kind == TIME:
            if _is_duration(value, "ago"):
                return _duration(value, "ago")
            if isinstance(value, dict) and isinstance(value.get("date"), str) and len(value) == 1:
                try:
                    date.fromisoformat(value["date"])
                except ValueError:
                    raise self.fail(node, path, f"{value['date']!r} is not a date") from None
                return {"date": value["date"]}
            raise self.fail(
                node,
                path,
                f"{subject} is a time; write a date (2026-01-01) or a time back from now (30d ago)",
            )
        # ANY: a trait or property holds whatever JSON a sender put there.
        if isinstance(value, str | bool) or _is_number(value):
            return value
        raise self.fail(node, path, f"{subject} takes text, a number, true or false")


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and abs(value) < 10**15


def _is_duration(value: Any, key: str) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == {key, "unit"}
        and isinstance(value[key], int)
        and not isinstance(value[key], bool)
        and 0 <= value[key] <= 100_000
        and value["unit"] in ("h", "d", "w")
    )


def _duration(value: dict[str, Any], key: str) -> dict[str, Any]:
    return {key: value[key], "unit": value["unit"]}


def nearest(name: str, names: list[str] | None = None) -> str | None:
    """The known name closest to a misspelt one, for "did you mean", ignoring case."""
    known = names or known_names()
    folded = {n.casefold(): n for n in known}
    found = difflib.get_close_matches(name.casefold(), list(folded), n=1, cutoff=0.6)
    return folded[found[0]] if found else None


def _example(function: Function) -> str:
    examples = {
        "tag": 'tag("VIP")',
        "has": "has(phone)",
        "consent": "consent(sms)",
        "in_segment": 'in_segment("复购客户")',
        "orders": "orders(within: 90d).count >= 2",
        "events": 'events("page_viewed", within: 7d).count >= 1',
        "coupon": 'coupon("SPRING").redeemed',
    }
    return examples[function.name]


def _sample(kind: str, subject: str) -> str:
    samples = {
        TEXT: f'{subject} = "杭州"',
        NUMBER: f"{subject} >= 2",
        MONEY: f"{subject} >= ¥500",
        TIME: f"{subject} > 30d ago",
        LIST: f'{subject} contains "taobao"',
        ANY: f'{subject} = "…"',
    }
    return samples[kind]
