"""coupon("SPRING").issued / .redeemed / .expired / .live in the segment language."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.contacts.models import Contact
from siyu.growth.coupons import issuing, redeeming
from siyu.growth.coupons.models import GrowthCoupon
from siyu.segments.compiler import compile_query
from siyu.segments.language import QueryError, parse, to_text
from tests.growth.conftest import CLI, NOW, define, person

GrowthCouponTable = GrowthCoupon.__table__


def members(session: Session, query: str, *, few: bool = False) -> set[int]:
    compiled = compile_query(session, parse(query), few=few)
    rows = session.scalars(select(Contact.id).where(compiled.condition), compiled.params(NOW))
    return set(rows)


def test_reads_and_writes_back() -> None:
    node = parse('coupon("SPRING").redeemed and not coupon(“SPRING”).issued')
    assert node["and"][0] == {"call": "coupon", "args": {"name": "SPRING"}, "measure": "redeemed"}
    assert to_text(node) == 'coupon("SPRING").redeemed and not coupon("SPRING").issued'
    assert parse(to_text(node)) == node


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('coupon("SPRING")', ["needs .issued or .redeemed"]),
        ('coupon("SPRING").used', ["has no .used"]),
        ('coupon("SPRING").redeemed = 1', ["true or false on its own"]),
        ("coupon().issued", ["needs name"]),
    ],
)
def test_wrong_uses_say_what_to_write(text: str, words: list[str]) -> None:
    with pytest.raises(QueryError) as caught:
        parse(text)
    for word in words:
        assert word in caught.value.message


@pytest.mark.parametrize("few", [False, True], ids=["pool", "few"])
def test_members_by_the_state_of_their_codes(session: Session, few: bool) -> None:
    spring = define(session, valid_days=3)
    ann, bob, cat, dan = (person(session, n) for n in ("Ann", "Bob", "Cat", "Dan"))
    issued = issuing.issue(
        session, actor=CLI, coupon=spring, contact_ids=[ann.id, bob.id, cat.id], now=NOW
    )
    redeeming.redeem(session, actor=CLI, code=issued.codes[ann.id], now=NOW)
    session.execute(  # Cat's ran out before the others were issued
        GrowthCouponTable.update()
        .where(GrowthCouponTable.c.code == issued.codes[cat.id])
        .values(expires_at=NOW - timedelta(days=1))
    )
    redeeming.expire(session, now=NOW)
    query: dict[str, Any] = {
        'coupon("SPRING").issued': {ann.id, bob.id, cat.id},
        'coupon("SPRING").redeemed': {ann.id},
        'coupon("SPRING").expired': {cat.id},
        'coupon("SPRING").live': {bob.id},
    }
    for text, wanted in query.items():
        assert members(session, text, few=few) & {ann.id, bob.id, cat.id, dan.id} == wanted, text
    outside = members(session, 'not coupon("SPRING").issued', few=few)
    assert dan.id in outside and ann.id not in outside


def test_an_unknown_coupon_is_named(session: Session) -> None:
    define(session, "SPRING")
    with pytest.raises(QueryError, match="no coupon named 'SPRNG'; did you mean 'SPRING'"):
        compile_query(session, parse('coupon("SPRNG").issued'))
