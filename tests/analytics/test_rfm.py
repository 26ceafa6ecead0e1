"""RFM scores: quintiles, the combined score and the named segments, against a plain-Python
computation of the same rules on random data; the rule table; refreshes and the window."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from siyu.analytics import rfm
from siyu.analytics.models import RfmScore
from siyu.config import get_settings
from siyu.contacts.identity import merge
from siyu.contacts.models import ORDER_STATUSES, PURCHASE_STATUSES, Contact, ContactOrder
from siyu.errors import Forbidden
from siyu.kit.actor import Actor

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
_numbers = itertools.count(1)


def contact(session: Session, name: str = "buyer") -> Contact:
    person = Contact(name=name, source="test", traits={})
    session.add(person)
    session.flush()
    return person


def order(
    session: Session,
    person: Contact,
    placed_at: datetime,
    paid: int = 10000,
    *,
    status: str = "completed",
    refunded: int = 0,
    currency: str = "CNY",
) -> None:
    session.add(
        ContactOrder(
            contact_id=person.id,
            platform="taobao",
            platform_order_id=f"T{next(_numbers)}",
            status=status,
            currency=currency,
            total_amount=paid,
            paid_amount=paid,
            refunded_amount=refunded,
            placed_at=placed_at,
        )
    )


def scores(session: Session) -> dict[int, dict[str, Any]]:
    return {
        row.contact_id: {
            "recency_days": row.recency_days,
            "frequency": row.frequency,
            "monetary": row.monetary,
            "r": row.recency_score,
            "f": row.frequency_score,
            "m": row.monetary_score,
            "score": row.score,
            "segment": row.segment,
        }
        for row in session.execute(select(RfmScore)).scalars()
    }


def ntile(count: int) -> list[int]:
    """NTILE(5) as SQL defines it: the first count % 5 groups hold one row more."""
    base, extra = divmod(count, 5)
    return [g for g in range(1, 6) for _ in range(base + (1 if g <= extra else 0))]


def expected(
    orders: list[tuple[int, datetime, int, int, str, str]], now: datetime, window: int
) -> dict[int, dict[str, Any]]:
    """The same rules in plain Python, from (contact, placed, paid, refunded, status, currency)."""
    start = now - timedelta(days=window)
    found: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for cid, placed, paid, refunded, status, currency in orders:
        if status in PURCHASE_STATUSES and currency == "CNY" and start < placed <= now:
            found[cid].append((placed, paid - refunded))
    out = {
        cid: {
            "recency_days": (now - max(p for p, _ in rows)) // timedelta(days=1),
            "frequency": len(rows),
            "monetary": sum(m for _, m in rows),
        }
        for cid, rows in found.items()
    }
    for key, measure, reverse in (
        ("r", "recency_days", True),
        ("f", "frequency", False),
        ("m", "monetary", False),
    ):
        ranked = sorted(out, key=lambda c: (-out[c][measure] if reverse else out[c][measure], c))
        for cid, tile in zip(ranked, ntile(len(ranked)), strict=True):
            out[cid][key] = tile
    for row in out.values():
        row["score"] = 100 * row["r"] + 10 * row["f"] + row["m"]
        row["segment"] = rfm.segment_of(row["r"], row["f"], row["m"])
    return out


random_orders = st.lists(
    st.tuples(
        st.integers(0, 14),  # which contact
        st.integers(-3, 500 * 24),  # hours before NOW (negative: after it)
        st.integers(0, 50_000),  # paid, fen
        st.sampled_from(ORDER_STATUSES),
        st.sampled_from(["CNY", "CNY", "CNY", "USD"]),
    ),
    min_size=0,
    max_size=60,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=random_orders, window=st.sampled_from([30, 90, 365]))
def test_scores_agree_with_plain_python(
    session: Session, monkeypatch: pytest.MonkeyPatch, rows: list[Any], window: int
) -> None:
    monkeypatch.setenv("SIYU_RFM_WINDOW_DAYS", str(window))
    get_settings.cache_clear()
    nested = session.begin_nested()
    try:
        people = [contact(session, f"c{n}") for n in range(15)]
        written = []
        for who, hours, paid, status, currency in rows:
            placed = NOW - timedelta(hours=hours, minutes=who)
            refunded = paid // 2 if status == "refunded" else 0
            order(
                session,
                people[who],
                placed,
                paid,
                status=status,
                refunded=refunded,
                currency=currency,
            )
            written.append((people[who].id, placed, paid, refunded, status, currency))
        session.flush()
        result = rfm.refresh(session, now=NOW)
        want = expected(written, NOW, window)
        assert scores(session) == want
        assert result["scored"] == len(want)
    finally:
        nested.rollback()
        get_settings.cache_clear()


def test_every_named_segment_is_reachable_and_the_first_rule_wins() -> None:
    every = {rfm.segment_of(r, f, m) for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)}
    assert every == set(rfm.SEGMENTS)
    assert [name for name, *_ in rfm.SEGMENT_RULES] == list(rfm.SEGMENTS[:-1])
    # Scores that several rules match go to the first of them.
    assert rfm.segment_of(5, 5, 5) == "champions"  # also a potential loyalist
    assert rfm.segment_of(3, 3, 3) == "potential_loyalist"  # also loyal, need attention
    assert rfm.segment_of(2, 3, 3) == "loyal_customers"  # also need attention
    assert rfm.segment_of(4, 2, 4) == "loyal_customers"  # also promising, new
    assert rfm.segment_of(4, 1, 4) == "promising"  # also new
    assert rfm.segment_of(5, 1, 1) == "new_customers"
    assert rfm.segment_of(1, 3, 4) == "cant_lose_them"  # also at risk, need attention
    assert rfm.segment_of(1, 5, 5) == "at_risk"  # also need attention
    assert rfm.segment_of(1, 3, 3) == "need_attention"
    assert rfm.segment_of(2, 1, 1) == "about_to_sleep"
    assert rfm.segment_of(1, 1, 1) == "lost"
    assert rfm.segment_of(2, 5, 1) == "others"
    assert set(rfm.SEGMENT_NAMES) == set(rfm.SEGMENTS)


def test_the_sql_rules_are_the_python_rules(session: Session) -> None:
    statement = text(f"SELECT {rfm._segment_sql()} FROM (SELECT :r AS r, :f AS f, :m AS m) AS s")
    for r, f, m in itertools.product(range(1, 6), repeat=3):
        got = session.execute(statement, {"r": r, "f": f, "m": m}).scalar()
        assert got == rfm.segment_of(r, f, m), (r, f, m)


def test_refresh_is_idempotent_and_replaces_the_table(session: Session) -> None:
    people = [contact(session, f"c{n}") for n in range(7)]
    for n, person in enumerate(people):
        for k in range(n + 1):
            order(session, person, NOW - timedelta(days=10 * n + k), 1000 * (7 - n))
    session.flush()
    rfm.refresh(session, now=NOW)
    first = scores(session)
    rfm.refresh(session, now=NOW)
    assert scores(session) == first
    assert len(first) == 7
    # Most recent and most frequent are different people here: scores are independent.
    assert first[people[0].id]["r"] == 5 and first[people[0].id]["f"] == 1
    assert first[people[6].id]["r"] == 1 and first[people[6].id]["f"] == 5
    # 7 × 1,000 fen once and 1,000 fen 7 times tie: both in the lowest fifth, ordered by id.
    assert first[people[0].id]["m"] == first[people[6].id]["m"] == 1
    assert first[people[3].id]["m"] == 5
    # A year and more later every order is out of the window: the table holds nobody.
    rfm.refresh(session, now=NOW + timedelta(days=400))
    assert scores(session) == {}


def test_the_window_and_what_counts_as_a_purchase(session: Session) -> None:
    inside, old, future, cancelled, dollars = (contact(session, n) for n in "abcde")
    order(session, inside, NOW - timedelta(days=364), 5000, refunded=1000, status="refunded")
    order(session, inside, NOW - timedelta(days=2), 3000)
    order(session, inside, NOW - timedelta(days=366), 99999)  # out of the window
    order(session, old, NOW - timedelta(days=366), 5000)
    order(session, future, NOW + timedelta(hours=1), 5000)
    order(session, cancelled, NOW - timedelta(days=1), 5000, status="cancelled")
    order(session, cancelled, NOW - timedelta(days=1), 5000, status="pending")
    order(session, dollars, NOW - timedelta(days=1), 5000, currency="USD")
    session.flush()
    rfm.refresh(session, now=NOW)
    found = scores(session)
    assert set(found) == {inside.id}
    assert found[inside.id] == {
        "recency_days": 2,
        "frequency": 2,
        "monetary": 7000,
        "r": 1,
        "f": 1,
        "m": 1,
        "score": 111,
        "segment": "lost",
    }


def test_a_merged_contact_leaves_the_scores(session: Session) -> None:
    a, b = contact(session, "a"), contact(session, "b")
    order(session, a, NOW - timedelta(days=1))
    order(session, b, NOW - timedelta(days=5))
    session.flush()
    rfm.refresh(session, now=NOW)
    assert set(scores(session)) == {a.id, b.id}
    merge(session, survivor=a.id, absorbed=b.id, reason="test")
    session.expire_all()
    assert set(scores(session)) == {a.id}  # until the next refresh counts both orders as a's
    rfm.refresh(session, now=NOW)
    assert scores(session)[a.id]["frequency"] == 2


def test_the_report(session: Session) -> None:
    assert rfm.report(session, actor=Actor.cli())["computed_at"] is None
    people = [contact(session, f"c{n}") for n in range(10)]
    for n, person in enumerate(people):
        for k in range(1 + n % 3):
            order(session, person, NOW - timedelta(days=3 * n + k), 2000 + 100 * n)
    session.flush()
    rfm.refresh(session, now=NOW)
    data = rfm.report(session, actor=Actor.cli())
    assert data["contacts"] == 10
    assert data["window_days"] == 365
    assert data["computed_at"] == "2026-06-01T12:00:00Z"
    assert sum(c["contacts"] for c in data["grid"]) == 10
    assert all({"r", "f", "contacts", "average_monetary"} == set(c) for c in data["grid"])
    assert [s["segment"] for s in data["segments"]] == list(rfm.SEGMENTS)
    assert sum(s["contacts"] for s in data["segments"]) == 10
    assert sum(s["share"] for s in data["segments"]) == pytest.approx(1.0)
    champions = data["segments"][0]
    assert champions["name_en"] == "Champions" and champions["name_zh"] == "冠军客户"
    stored = scores(session)
    for segment in data["segments"]:
        members = [s for s in stored.values() if s["segment"] == segment["segment"]]
        assert segment["contacts"] == len(members)
        if members:
            average = sum(s["monetary"] for s in members) / len(members)
            assert segment["average_monetary"] == round(average)


def test_a_viewer_may_read_but_not_refresh(session: Session) -> None:
    viewer = Actor("staff:v", staff_id=None, role="viewer")
    rfm.report(session, actor=viewer)
    with pytest.raises(Forbidden):
        rfm.refresh_for(session, actor=viewer)
    assert rfm.refresh_for(session, actor=Actor("staff:o", role="operator"))["scored"] == 0
