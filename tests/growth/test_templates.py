"""{{ coupon("SPRING") }} in a message shows the contact's unused code, blank without one."""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.engage import recipients, templates
from siyu.growth.coupons import issuing, redeeming
from tests.growth.conftest import CLI, NOW, define, person

BODY = '满100减20，优惠码 {{ coupon("SPRING") }}{{ coupon("NONE") }}'


def rendered(session: Session, contact_id: int) -> str:
    row = recipients.contact_rows(session, [contact_id])[contact_id]
    context = templates.contact_context(row, owner=None, defaults={}, link=str, unsubscribe_url="#")
    return templates.render(BODY, context)


def test_the_unused_code_is_shown_and_a_used_one_is_not(session: Session) -> None:
    spring = define(session, limit_per_contact=2)
    ann = person(session)
    assert rendered(session, ann.id) == "满100减20，优惠码 "
    code = issuing.issue_one(session, actor=CLI, coupon=spring, contact_id=ann.id, now=NOW)
    assert rendered(session, ann.id) == f"满100减20，优惠码 {code}"
    redeeming.redeem(session, actor=CLI, code=code, now=NOW)
    assert rendered(session, ann.id) == "满100减20，优惠码 "
    assert not templates.unknown_variables(templates.variables(BODY))
