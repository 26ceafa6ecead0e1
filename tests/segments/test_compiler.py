"""The SQL compiler against a plain-Python evaluation of the same queries, on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.config import get_settings
from siyu.contacts.models import Contact
from siyu.segments.compiler import compile_query
from siyu.segments.language import check, parse
from tests.segments import oracle
from tests.segments.pool import NOW, build, queries


def members(session: Session, node: dict[str, Any], *, few: bool = False) -> set[int]:
    compiled = compile_query(session, node, few=few)
    query = select(Contact.id).where(compiled.condition)
    return set(session.scalars(query, compiled.params(NOW)))


@pytest.fixture(params=[1, 2])
def pool(request: pytest.FixtureRequest, session: Session) -> tuple[Session, oracle.Oracle]:
    """A random pool, built once for all the examples of a test (queries only read it)."""
    build(session, request.param)
    return session, oracle.Oracle(oracle.load(session), NOW, get_settings().zone)


@settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=queries)
def test_sql_gives_the_members_python_gives(
    pool: tuple[Session, oracle.Oracle], query: Any
) -> None:
    session, reference = pool
    node = check(query)
    expected = reference.members(node)
    assert members(session, node) == expected
    # As re-evaluating changed contacts compiles it: counts asked per contact.
    assert members(session, node, few=True) == expected


def test_the_example_query_from_the_docs(session: Session) -> None:
    build(session, 7, size=30)
    text = (
        'tag("VIP") and orders(within: 90d).count >= 1 and total_spent >= ¥100 '
        'and city in ("杭州", "上海") and events("page_viewed", url contains "/pricing", '
        'within: 30d).count >= 0 and not in_segment("黑名单")'
    )
    node = parse(text)
    expected = oracle.Oracle(oracle.load(session), NOW, get_settings().zone).members(node)
    assert members(session, node) == expected


# Counts and sums run two ways: over all rows when they stand alone, and per contact when a
# cheaper condition beside them leaves few contacts (`created_at is set` is true for everyone).
BOTH_WAYS = [
    'events("signed_up").count >= 1',
    'events("page_viewed", within: 7d).count >= 2',
    'events("added_to_cart", price >= 50).count = 0',
    "orders(within: 90d).count >= 1",
    'orders(platform: "jd").sum < ¥300',
    'orders(product: "精华").count between 1 and 2',
]


@pytest.mark.parametrize("text", BOTH_WAYS)
def test_counts_alone_and_beside_a_cheaper_condition_agree(
    pool: tuple[Session, oracle.Oracle], text: str
) -> None:
    session, reference = pool
    alone = parse(text)
    beside = parse(f"created_at is set and {text}")
    assert members(session, alone) == reference.members(alone)
    assert members(session, beside) == reference.members(beside) == members(session, alone)
