"""Two redemptions of one code, and two issues of the last unit of stock, at the same time on
real connections: exactly one wins, the other is told why."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from siyu.db.session import get_engine, session_factory, unit_of_work, writing
from siyu.errors import Conflict
from siyu.growth.coupons import issuing, redeeming, service
from siyu.growth.coupons.models import GrowthCoupon
from tests.growth.conftest import CLI, define, person


@pytest.fixture
def engine(database_url: str) -> Any:
    if database_url.startswith("sqlite"):
        pytest.skip(
            "SQLite lets one writer in at a time (writers BEGIN IMMEDIATE), so two "
            "redemptions cannot overlap there; PostgreSQL runs them side by side"
        )
    return writing(get_engine())


def overlap(engine: Any, work: Callable[[Any], Any]) -> tuple[Any, BaseException | None]:
    """Run `work` in a first transaction and, before it commits, in a second one on another
    connection, which must wait for the first's lock. Returns the second's result or error."""
    first = session_factory(engine)()
    work(first)  # holds its row lock, not committed yet
    outcome: dict[str, Any] = {}

    def second() -> None:
        with session_factory(engine)() as other:
            try:
                outcome["value"] = work(other)
                other.commit()
            except BaseException as error:
                other.rollback()
                outcome["error"] = error

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.5)  # the second reads, then waits on the first's lock
    assert thread.is_alive(), "the second transaction did not wait for the first"
    first.commit()
    first.close()
    thread.join(10)
    return outcome.get("value"), outcome.get("error")


def test_two_redemptions_of_one_code_redeem_it_once(engine: Any) -> None:
    with unit_of_work(engine) as session:
        spring = define(session)
        code = issuing.issue_one(session, actor=CLI, coupon=spring, contact_id=person(session).id)
    value, error = overlap(
        engine, lambda s: redeeming.redeem(s, actor=CLI, code=code, amount=10000).id
    )
    assert value is None
    assert isinstance(error, Conflict) and "already redeemed" in error.message
    with unit_of_work(engine) as session:
        redeemed = session.scalar(
            select(func.count()).where(
                GrowthCoupon.code == code, GrowthCoupon.redeemed_at.is_not(None)
            )
        )
        assert redeemed == 1


def test_two_issues_of_the_last_unit_issue_one(engine: Any) -> None:
    with unit_of_work(engine) as session:
        spring = define(session, stock=1)
        ann, bob = person(session), person(session)
        spring_id, ids = spring.id, {"ann": ann.id, "bob": bob.id}
    turn = iter(["ann", "bob"])

    def take(session: Any) -> str:
        coupon = service.get_definition(session, spring_id)
        return issuing.issue_one(session, actor=CLI, coupon=coupon, contact_id=ids[next(turn)])

    value, error = overlap(engine, take)
    assert value is None
    assert isinstance(error, Conflict) and "out of stock" in error.message
    with unit_of_work(engine) as session:
        assert session.scalar(select(func.count()).select_from(GrowthCoupon)) == 1
        assert service.get_definition(session, spring_id).issued_count == 1
