"""The segment language: text and JSON convert into each other without loss, and a wrong
query is answered with where it went wrong, what was expected and the nearest known name."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.segments.language import QueryError, check, parse, to_text
from tests.segments.pool import queries

EXAMPLE = (
    'tag("VIP") and orders(within: 90d).count >= 2 and total_spent >= ¥500 '
    'and city in ("杭州", "上海") and events("page_viewed", url contains "/pricing", '
    'within: 7d).count >= 1 and consent(sms) and not in_segment("complained")'
)


def test_the_issue_example_reads_as_json_and_back() -> None:
    node = parse(EXAMPLE)
    assert node["and"][0] == {"call": "tag", "args": {"name": "VIP"}}
    assert node["and"][1] == {
        "call": "orders",
        "args": {"within": {"duration": 90, "unit": "d"}},
        "measure": "count",
        "op": ">=",
        "value": 2,
    }
    assert node["and"][2] == {"field": "total_spent", "op": ">=", "value": {"money": 50000}}
    assert node["and"][4]["where"] == [{"field": "url", "op": "contains", "value": "/pricing"}]
    assert node["and"][6] == {"not": {"call": "in_segment", "args": {"name": "complained"}}}
    assert to_text(node) == EXAMPLE


@settings(max_examples=300, deadline=None)
@given(query=queries)
def test_json_to_text_and_back_loses_nothing(query: Any) -> None:
    node = check(query)
    text = to_text(node)
    assert parse(text) == node
    assert to_text(parse(text)) == text


@pytest.mark.parametrize(
    ("text", "same_as"),
    [
        ("（city = “杭州”） and tag（“VIP”）", 'city = "杭州" and tag("VIP")'),
        ("order_count == 2 AND city <> 'x'", 'order_count = 2 and city != "x"'),
        ("total_spent >= 500元", "total_spent >= ¥500"),
        ("total_spent >= ￥12.5", "total_spent >= ¥12.50"),
        ("traits.等级 = 3", "traits.等级 = 3"),
        ("not not tag(VIP)", 'not not tag("VIP")'),
        ("city = 杭州", 'city = "杭州"'),
        ("orders(coupon: true).count > 0", "orders(coupon: true).count > 0"),
        ("last_order_at < 30d ago # lapsed buyers", "last_order_at < 30d ago"),
        ("city = 'a' or city = 'b' and has(phone)", 'city = "a" or city = "b" and has(phone)'),
        ('(city = "a" or city = "b") and has(phone)', '(city = "a" or city = "b") and has(phone)'),
        ('name = "say \\"hi\\""', 'name = "say \\"hi\\""'),
    ],
)
def test_other_spellings_mean_the_same(text: str, same_as: str) -> None:
    assert parse(text) == parse(same_as)
    assert to_text(parse(text)) == same_as


def test_and_binds_tighter_than_or() -> None:
    node = parse('city = "a" or city = "b" and has(phone)')
    assert list(node) == ["or"]
    assert list(node["or"][1]) == ["and"]


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ('tag("VIP") and', 1, 15, ["ends too early", "a name"]),
        ("totl_spent > ¥5", 1, 1, ["unknown field 'totl_spent'", "did you mean 'total_spent'"]),
        ("total_spent > 5", 1, 1, ["amount of money", "¥500"]),
        ("orders(within: 90d) >= 2", 1, 1, ["needs .count or .sum"]),
        ("consent(smss)", 1, 1, ["not one of", "did you mean 'sms'"]),
        ('city = "a" and (b', 1, 18, ["ends too early", "')'"]),
        ("city = @", 1, 8, ["unexpected character '@'"]),
        ("orders(withn: 3d).count > 1", 1, 1, ["no argument 'withn'", "did you mean 'within'"]),
        ('city = "x"\nand oder_count > 1', 2, 5, ["unknown field 'oder_count'", "'order_count'"]),
        ('tag("VIP") > 2', 1, 1, ["true or false on its own"]),
        ("city < 3", 1, 1, ["cannot be compared with <"]),
        ("last_order_at > 2026-02-30", 1, 1, ["not a date"]),
        ("orders().count", 1, 1, ["needs a comparison"]),
        ("city", 1, 1, ["needs a comparison"]),
        ("tag", 1, 1, ["is a function", 'tag("VIP")']),
        ("events(within: 7d).count > 1", 1, 1, ["needs name"]),
        ('tag("a", "b")', 1, 10, ["at most 1 unnamed"]),
        ("", None, None, ["empty"]),
    ],
)
def test_wrong_queries_say_where_and_what(
    text: str, line: int | None, column: int | None, words: list[str]
) -> None:
    with pytest.raises(QueryError) as caught:
        parse(text)
    error = caught.value
    assert (error.line, error.column) == (line, column), error.message
    for word in words:
        assert word in error.message


@pytest.mark.parametrize(
    ("node", "path", "words"),
    [
        ({"and": []}, "$", ["needs a list"]),
        ({"and": [{"field": "city"}]}, "$.and[0]", ["needs a comparison"]),
        ({"field": "city", "op": "=", "value": 3}, "$", ["in quotes"]),
        ({"field": "total_spent", "op": ">", "value": {"money": -5}}, "$", ["money"]),
        (
            {
                "call": "orders",
                "args": {"within": "90d"},
                "measure": "count",
                "op": ">",
                "value": 1,
            },
            "$.args.within",
            ["duration"],
        ),
        ({"field": "order_count", "op": ">", "value": float("nan")}, "$", ["number"]),
        ({"nothing": 1}, "$", ["expected and, or, not"]),
        ("tag", "$", ["condition object"]),
    ],
)
def test_wrong_json_says_which_part(node: Any, path: str, words: list[str]) -> None:
    with pytest.raises(QueryError) as caught:
        check(node)
    assert caught.value.path == path
    for word in words:
        assert word in caught.value.message


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60))
def test_any_text_is_read_or_refused_with_a_query_error(text: str) -> None:
    try:
        node = parse(text)
    except QueryError as error:
        assert error.message
    else:
        assert parse(to_text(node)) == node


@settings(max_examples=300, deadline=None)
@given(query=queries, cut=st.integers(0, 400))
def test_a_query_cut_short_is_refused_or_still_reads(query: Any, cut: int) -> None:
    text = to_text(check(query))[:cut]
    try:
        node = parse(text)
    except QueryError as error:
        assert error.message
    else:
        assert parse(to_text(node)) == node
