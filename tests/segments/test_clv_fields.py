"""The clv.* fields: read from the last lifetime value fit, compared with the stored
predictions in Python, combined with the contact's own columns, and kept current in dynamic
segments when a fit replaces the predictions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.analytics.clv import service as clv_service
from siyu.analytics.clv.models import ClvPrediction
from siyu.contacts.models import Contact
from siyu.kit.actor import Actor
from siyu.segments import service
from siyu.segments.compiler import compile_query
from siyu.segments.language import parse, to_text
from siyu.segments.models import SegmentMember
from tests.analytics.clv.pool import buyers
from tests.analytics.test_rfm import contact

NOW = datetime(2025, 10, 1, tzinfo=UTC)
CLI = Actor.cli()


def members(session: Session, text: str) -> set[int]:
    compiled = compile_query(session, parse(text))
    return set(session.scalars(select(Contact.id).where(compiled.condition), compiled.params(NOW)))


def expected(session: Session, test: Any) -> set[int]:
    """The same question put to the stored rows (and contacts) in Python."""
    rows = session.scalars(select(ClvPrediction)).all()
    contacts = {c.id: c for c in session.scalars(select(Contact))}
    return {row.contact_id for row in rows if test(row, contacts[row.contact_id])}


QUERIES = [
    ("clv.p_alive < 0.3", lambda r, c: r.p_alive < 0.3),
    ("clv.p_alive >= 0.3", lambda r, c: r.p_alive >= 0.3),
    ("clv.expected_purchases > 0.5", lambda r, c: r.expected_purchases > 0.5),
    ("clv.expected_spend >= ¥250", lambda r, c: r.expected_spend >= 25000),
    ("clv.value between ¥100 and ¥2000", lambda r, c: 10000 <= r.clv <= 200000),
    (
        "clv.p_alive < 0.3 and total_spent > ¥1000",
        lambda r, c: r.p_alive < 0.3 and c.total_spent > 100000,
    ),
]


@pytest.mark.parametrize(("text", "test"), QUERIES, ids=[q for q, _ in QUERIES])
def test_clv_fields_select_what_the_predictions_say(session: Session, text: str, test: Any) -> None:
    buyers(session, 45)
    clv_service.fit(session, until=date(2025, 9, 30), unit="week")
    found = members(session, text)
    assert found == expected(session, test)
    assert to_text(parse(text)) == text  # the language prints it back as written


def test_contacts_without_predictions(session: Session) -> None:
    ids = buyers(session, 15)
    stranger = contact(session, "no orders").id
    clv_service.fit(session, until=date(2025, 9, 30), unit="week")
    predicted = set(session.scalars(select(ClvPrediction.contact_id)))
    assert predicted == set(ids)
    assert members(session, "clv.value >= ¥0") == predicted
    assert stranger in members(session, "not clv.value >= ¥0")
    assert stranger in members(session, "clv.p_alive != 0.5")  # no value is not 0.5
    assert stranger not in members(session, "clv.p_alive <= 1")


def test_a_refit_moves_the_segments_that_read_clv(session: Session) -> None:
    buyers(session, 45)
    segment = service.create_segment(
        session, actor=CLI, name="快流失", query="clv.p_alive < 0.5", now=NOW
    )
    assert not session.scalars(
        select(SegmentMember).where(SegmentMember.segment_id == segment.id)
    ).all()
    clv_service.fit(session, until=date(2025, 9, 30), unit="week")
    inside = set(
        session.scalars(
            select(SegmentMember.contact_id).where(SegmentMember.segment_id == segment.id)
        )
    )
    assert inside and inside == expected(session, lambda r, c: r.p_alive < 0.5)
