"""Branch conditions and goals, asked in SQL of a batch of contacts at once.

Text is parsed and compiled once per (database, text, segment definitions): a branch reached
by a thousand contacts is one statement, not a thousand.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from siyu.contacts.models import Contact
from siyu.engage.journeys.models import EngageJourneyEnrolment
from siyu.kit.chunks import chunked
from siyu.segments import membership
from siyu.segments.compiler import Compiled, compile_query
from siyu.segments.language import parse

_compiled: dict[tuple[Any, ...], Compiled] = {}
# Small enough for a plain IN list, which every planner reads as "these rows".
BATCH = 500


def compiled(session: Session, text: str) -> Compiled:
    key = (session.get_bind().dialect.name, text, membership.version(session))
    found = _compiled.get(key)
    if found is None:
        if len(_compiled) > 500:
            _compiled.clear()
        # few=True: asked of a batch, so counts and sums go along each contact's index.
        found = _compiled[key] = compile_query(
            session, parse(text), few=True, names="journey_since"
        )
    return found


def matching(session: Session, text: str, contact_ids: Sequence[int], *, now: datetime) -> set[int]:
    """The contacts among `contact_ids` the condition holds for now."""
    query = compiled(session, text)
    found: set[int] = set()
    for batch in chunked(sorted(set(contact_ids)), BATCH):
        statement = select(Contact.id).where(Contact.id.in_(batch), query.condition)
        found.update(session.scalars(statement, query.params(now)))
    return found


def goal_reached(
    session: Session,
    *,
    goal: str | None,
    new_order: bool,
    enrolment_ids: Sequence[int],
    now: datetime,
) -> set[int]:
    """The enrolments among these whose contact meets the goal: the condition holds, or (with
    `new_order`) the contact placed an order after entering."""
    if not goal and not new_order:
        return set()
    enrolment = EngageJourneyEnrolment
    tests: list[Any] = []
    params: dict[str, Any] = {}
    if goal:
        query = compiled(session, goal)
        tests.append(query.condition)
        params = query.params(now)
    if new_order:
        tests.append(Contact.last_order_at > enrolment.entered_at)
    found: set[int] = set()
    for batch in chunked(sorted(set(enrolment_ids)), BATCH):
        statement = (
            select(enrolment.id)
            .join(Contact, Contact.id == enrolment.contact_id)
            .where(enrolment.id.in_(batch), or_(*tests))
        )
        found.update(session.scalars(statement, params))
    return found
