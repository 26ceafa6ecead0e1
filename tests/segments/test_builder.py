"""The console builder's rows show a query without changing it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings

from siyu.segments.builder import Row, node_from, rows_from
from siyu.segments.language import QueryError, check, parse
from tests.segments.pool import queries


@settings(max_examples=400, deadline=None)
@given(query=queries)
def test_rows_give_back_the_query_they_show(query: Any) -> None:
    node = check(query)
    shown = rows_from(node)
    if shown is not None:
        assert node_from(*shown) == node


@pytest.mark.parametrize(
    "text",
    [
        'tag("VIP") and total_spent >= ¥500.50',
        "orders(within: 90d).count >= 2 or not consent(sms)",
        'events("page_viewed", within: 7d).count >= 1 and last_order_at < 30d ago',
        'city = "杭州"',
        'first_order_at is set and platforms contains "jd"',
    ],
)
def test_common_queries_are_rows(text: str) -> None:
    node = parse(text)
    shown = rows_from(node)
    assert shown is not None
    assert node_from(*shown) == node


@pytest.mark.parametrize(
    "text",
    [
        'city in ("杭州", "上海")',
        'events("page_viewed", url contains "/pricing").count >= 1',
        '(order_count > 1 or has(phone)) and tag("VIP")',
        "last_order_at < 2026-01-01",
    ],
)
def test_what_rows_cannot_show_is_left_to_text(text: str) -> None:
    assert rows_from(parse(text)) is None


def test_a_wrong_row_is_named() -> None:
    rows = [Row("tag", "", "VIP"), Row("total_spent", ">=", "lots")]
    with pytest.raises(QueryError, match="condition 2: 'lots' is not an amount"):
        node_from("all", rows)
    with pytest.raises(QueryError, match=r"condition 1: .*channel"):
        node_from("any", [Row("consent", "", "fax")])
    assert node_from("all", [Row("total_spent", ">=", "¥1,299.5")]) == parse(
        "total_spent >= ¥1299.50"
    )
