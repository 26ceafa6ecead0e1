"""Stored membership: filled on creation, kept current by the changes writers mark, swept by
the clock, with history, auto-tags and segment_entered / segment_exited events."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.contacts import rollups
from siyu.contacts import service as contacts
from siyu.contacts.consent import record_consent
from siyu.contacts.identity import merge
from siyu.contacts.models import Contact, ContactOrder
from siyu.contacts.tags import tags_of
from siyu.errors import Conflict, Forbidden, Invalid
from siyu.events.models import Event
from siyu.kit.actor import Actor
from siyu.segments import membership, service
from siyu.segments.language import QueryError
from siyu.segments.models import SegmentMember, SegmentMembership, SegmentPendingContact

NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
CLI = Actor.cli()


def person(session: Session, name: str, *refs: str) -> Contact:
    return contacts.create_contact(session, actor=CLI, identities=list(refs), name=name)


ORDER_NUMBERS = itertools.count(1)


def buy(session: Session, contact: Contact, fen: int, days_ago: int = 1) -> None:
    session.add(
        ContactOrder(
            contact_id=contact.id,
            platform="taobao",
            platform_order_id=f"M{next(ORDER_NUMBERS)}",
            status="completed",
            total_amount=fen,
            paid_amount=fen,
            placed_at=NOW - timedelta(days=days_ago),
        )
    )
    session.flush()
    rollups.recompute(session, [contact.id])


def members(session: Session, segment_id: int) -> set[int]:
    return set(
        session.scalars(
            select(SegmentMember.contact_id).where(SegmentMember.segment_id == segment_id)
        )
    )


def events(session: Session, name: str) -> list[Event]:
    return list(session.scalars(select(Event).where(Event.name == name).order_by(Event.id)))


def drain(session: Session, now: datetime = NOW) -> None:
    while membership.process_pending(session, now=now):
        pass


def test_a_new_segment_is_filled_without_events(session: Session) -> None:
    wang, li = person(session, "王芳", "phone:13800138000"), person(session, "李伟")
    buy(session, wang, 60000)
    segment = service.create_segment(
        session, actor=CLI, name="大客户", query="total_spent >= ¥500", now=NOW
    )
    assert members(session, segment.id) == {wang.id}
    assert segment.member_count == 1 and segment.refreshed_at == NOW
    assert segment.query == "total_spent >= ¥500" and not segment.clock_dependent
    assert events(session, "segment_entered") == []
    stays = session.scalars(select(SegmentMembership)).all()
    assert [(s.contact_id, s.exited_at) for s in stays] == [(wang.id, None)]
    assert li.id not in members(session, segment.id)


def test_changes_move_contacts_in_and_out_with_events(session: Session) -> None:
    wang, li = person(session, "王芳"), person(session, "李伟")
    segment = service.create_segment(
        session, actor=CLI, name="VIP 短信", query='tag("VIP") and consent(sms)', now=NOW
    )
    assert members(session, segment.id) == set()
    contacts.add_tags(session, contact=wang, tags=["VIP"], actor=CLI)
    record_consent(
        session, contact_id=wang.id, channel="sms", granted=True, source="test", recorded_at=NOW
    )
    contacts.add_tags(session, contact=li, tags=["VIP"], actor=CLI)
    assert session.scalar(select(func.count()).select_from(SegmentPendingContact)) == 2
    drain(session)
    assert members(session, segment.id) == {wang.id}
    (entered,) = events(session, "segment_entered")
    assert entered.contact_id == wang.id and entered.type == "track"
    assert entered.properties == {"segment_id": segment.id, "segment": "VIP 短信"}
    # Withdrawn consent: out again, the stay closed, an exit event.
    record_consent(
        session, contact_id=wang.id, channel="sms", granted=False, source="test",
        recorded_at=NOW + timedelta(hours=1),
    )  # fmt: skip
    drain(session, NOW + timedelta(hours=1))
    assert members(session, segment.id) == set()
    assert [e.contact_id for e in events(session, "segment_exited")] == [wang.id]
    (stay,) = session.scalars(select(SegmentMembership)).all()
    assert stay.exit_reason == "left" and stay.exited_at == NOW + timedelta(hours=1)
    session.refresh(segment)
    assert segment.member_count == 0
    assert session.scalar(select(func.count()).select_from(SegmentPendingContact)) == 0


def test_orders_names_and_identities_are_watched(session: Session) -> None:
    wang = person(session, "王芳")
    big = service.create_segment(
        session, actor=CLI, name="big", query="orders(within: 30d).sum >= ¥100", now=NOW
    )
    named = service.create_segment(
        session, actor=CLI, name="杭州", query='city = "杭州" and has(phone)', now=NOW
    )
    buy(session, wang, 20000)
    contacts.update_contact(session, contact=wang, actor=CLI, changes={"city": "杭州"})
    contacts.add_identity(session, contact=wang, ref="phone:13900139000", actor=CLI)
    drain(session)
    assert members(session, big.id) == {wang.id} and members(session, named.id) == {wang.id}
    assert big.clock_dependent


def test_the_sweep_follows_the_clock(session: Session) -> None:
    wang = person(session, "王芳")
    buy(session, wang, 10000, days_ago=20)
    recent = service.create_segment(
        session, actor=CLI, name="近30天", query="last_order_at > 30d ago", now=NOW
    )
    assert members(session, recent.id) == {wang.id}
    assert membership.sweep(session, now=NOW + timedelta(days=5)) == 0
    assert membership.sweep(session, now=NOW + timedelta(days=11)) == 1
    assert members(session, recent.id) == set()
    assert [e.contact_id for e in events(session, "segment_exited")] == [wang.id]


def test_auto_tags_come_and_go_but_a_person_s_tag_stays(session: Session) -> None:
    wang, li = person(session, "王芳"), person(session, "李伟")
    contacts.add_tags(session, contact=li, tags=["人群:高价值"], actor=CLI)  # by hand
    buy(session, wang, 90000)
    buy(session, li, 90000)
    segment = service.create_segment(
        session, actor=CLI, name="高价值", query="total_spent >= ¥800", tag="人群:高价值", now=NOW
    )
    tags = tags_of(session, [wang.id, li.id])
    assert [(t["label"], t["source"]) for t in tags[wang.id]] == [("人群:高价值", "rule")]
    assert [(t["label"], t["source"]) for t in tags[li.id]] == [("人群:高价值", "manual")]
    # An auto-tag marks nobody as changed (no loops between auto-tagging segments).
    assert session.scalar(select(func.count()).select_from(SegmentPendingContact)) == 0
    service.update_segment(
        session, actor=CLI, segment=segment, query="total_spent >= ¥1000", now=NOW
    )
    tags = tags_of(session, [wang.id, li.id])
    assert tags[wang.id] == [] and [t["source"] for t in tags[li.id]] == ["manual"]
    reasons = {s.contact_id: s.exit_reason for s in session.scalars(select(SegmentMembership))}
    assert reasons == {wang.id: "segment_changed", li.id: "segment_changed"}
    assert events(session, "segment_exited") == []  # a redefinition is no customer's doing


def test_a_merge_closes_the_absorbed_contact_s_stays(session: Session) -> None:
    wang, other = (
        person(session, "王芳", "phone:13800138000"),
        person(session, "王芳", "taobao_nick:芳"),
    )
    segment = service.create_segment(session, actor=CLI, name="王", query='name = "王芳"', now=NOW)
    assert members(session, segment.id) == {wang.id, other.id}
    merge(session, survivor=wang.id, absorbed=other.id, reason="test")
    drain(session)
    session.refresh(segment)
    assert members(session, segment.id) == {wang.id} and segment.member_count == 1
    reasons = {s.contact_id: s.exit_reason for s in session.scalars(select(SegmentMembership))}
    assert reasons == {wang.id: None, other.id: "merged"}
    assert events(session, "segment_exited") == []


def test_static_lists_and_segments_built_on_them(session: Session) -> None:
    wang, li, zhao = (
        person(session, n, f"phone:1380013800{i}") for i, n in enumerate(["王", "李", "赵"])
    )
    listed = service.create_segment(
        session,
        actor=CLI,
        name="投诉",
        kind="static",
        members=[str(wang.id), "phone:13800138001"],
        now=NOW,
    )
    assert members(session, listed.id) == {wang.id, li.id}
    calm = service.create_segment(
        session, actor=CLI, name="可触达", query='not in_segment("投诉")', now=NOW
    )
    assert members(session, calm.id) == {zhao.id}
    service.change_members(
        session, actor=CLI, segment=listed, remove=[str(li.id)], add=["phone:13800138002"]
    )
    drain(session)
    assert members(session, listed.id) == {wang.id, zhao.id}
    assert members(session, calm.id) == {li.id}
    with pytest.raises(Invalid, match="2 reference"):
        service.change_members(
            session, actor=CLI, segment=listed, add=["phone:13911112222", "999999"]
        )
    with pytest.raises(Invalid, match="dynamic"):
        service.change_members(session, actor=CLI, segment=calm, add=[str(wang.id)])
    snapshot = service.create_segment(
        session, actor=CLI, name="快照", kind="static", query='name = "王"', now=NOW
    )
    assert members(session, snapshot.id) == {wang.id} and snapshot.definition is None


def test_references_are_kept_whole(session: Session) -> None:
    base = service.create_segment(
        session, actor=CLI, name="base", query="order_count >= 1", now=NOW
    )
    service.create_segment(
        session, actor=CLI, name="top", query='in_segment("base") and total_spent > ¥1', now=NOW
    )
    with pytest.raises(QueryError, match="contain itself"):
        service.update_segment(session, actor=CLI, segment=base, query='in_segment("top")')
    with pytest.raises(QueryError, match="contain itself"):
        service.update_segment(session, actor=CLI, segment=base, query='in_segment("base")')
    with pytest.raises(Conflict, match="used by top"):
        service.update_segment(session, actor=CLI, segment=base, name="renamed")
    with pytest.raises(Conflict, match="used by top"):
        service.delete_segment(session, actor=CLI, segment=base)
    with pytest.raises(QueryError, match="did you mean 'base'"):
        service.create_segment(session, actor=CLI, name="x", query='in_segment("bse")')
    with pytest.raises(Conflict, match="already"):
        service.create_segment(session, actor=CLI, name="base", query="order_count >= 1")


def test_roles(session: Session) -> None:
    viewer = Actor("viewer", role="viewer")
    with pytest.raises(Forbidden):
        service.create_segment(session, actor=viewer, name="x", query="order_count >= 1")
    assert service.count(session, actor=viewer, query="order_count >= 0")["count"] == 0


def test_count_and_sample(session: Session) -> None:
    for i in range(3):
        person(session, f"客户{i}")
    result = service.count(session, actor=CLI, query='name contains "客户"', sample=2)
    assert result["count"] == 3 and len(result["sample"]) == 2
    assert result["query"] == 'name contains "客户"' and result["sql_ms"] >= 0


def test_rfm_scores_and_stages_reach_the_segments_that_read_them(session: Session) -> None:
    from siyu.analytics import rfm
    from siyu.contacts import lifecycle

    wang = person(session, "王芳", "phone:13800138000")
    buy(session, wang, 30000, days_ago=3)
    scored = service.create_segment(
        session, actor=CLI, name="有分", query="rfm.score >= 111", now=NOW
    )
    above = service.create_segment(
        session, actor=CLI, name="有分的人", query='in_segment("有分")', now=NOW
    )
    staged = service.create_segment(
        session, actor=CLI, name="流失", query='stage = "churned"', now=NOW
    )
    assert members(session, scored.id) == set() and members(session, above.id) == set()
    rfm.refresh(session, now=NOW)
    assert members(session, scored.id) == {wang.id} and members(session, above.id) == {wang.id}
    assert {e.properties["segment"] for e in events(session, "segment_entered")} == {
        "有分",
        "有分的人",
    }
    # Years later the sweep moves the stage; the segment on the stage follows once looked at.
    lifecycle.sweep(session, now=NOW + timedelta(days=3000))
    drain(session, NOW + timedelta(days=3000))
    assert members(session, staged.id) == {wang.id}


def test_tracked_events_reach_event_segments(session: Session) -> None:
    from siyu.events import service as events_service
    from siyu.events.intake import read_request
    from siyu.events.models import EventSource

    source = EventSource(name="site", prefix="wk_seg", secret_hash="-" * 64)
    session.add(source)
    session.flush()
    segment = service.create_segment(
        session,
        actor=CLI,
        name="看过价格",
        query='events("page_viewed", url contains "/pricing").count >= 1',
        now=NOW,
    )
    body = {
        "type": "page",
        "userId": "u-1",
        "messageId": "m-1",
        "properties": {"url": "https://a.cn/pricing"},
    }
    messages = read_request(body, kind="page", received_at=NOW)
    prepared = events_service.prepare(
        messages, received_at=NOW, dialect=session.get_bind().dialect.name
    )
    events_service.store(session, source_id=source.id, prepared=prepared)
    drain(session)
    (member,) = members(session, segment.id)
    assert [e.contact_id for e in events(session, "segment_entered")] == [member]
