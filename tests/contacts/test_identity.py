"""Identity resolution: one person once, whatever order the records come in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.contacts import rollups, search, service
from siyu.contacts.identity import Claim, ImportMemory, normalise_identity, resolve
from siyu.contacts.models import (
    Contact,
    ContactAlias,
    ContactIdentity,
    ContactMerge,
    ContactNote,
    ContactOrder,
)
from siyu.errors import Invalid, NotFound
from siyu.ingest.pipeline import apply_orders
from siyu.ingest.records import OrderRecord
from siyu.kit.actor import Actor


def _apply(session: Session, record: OrderRecord, memory: ImportMemory | None = None) -> None:
    """What an import does with one chunk: apply it, then recompute the rollups it touched."""
    counts = apply_orders(
        session, [record], batch_id=None, actor="t", source=record.platform, memory=memory
    )
    rollups.recompute(session, counts.touched)


def _order(
    oid: str, identities: list[tuple[str, str]], paid: int = 1000, platform: str = "taobao"
) -> OrderRecord:
    return OrderRecord(
        line=1,
        platform=platform,
        platform_order_id=oid,
        status="completed",
        placed_at=datetime(2024, 1, int(oid[-1]) + 1, tzinfo=UTC),
        identities=identities,
        total_amount=paid,
        paid_amount=paid,
    )


def test_kinds_are_normalised() -> None:
    assert normalise_identity("phone", "138 0013 8000") == ("phone", "+8613800138000")
    assert normalise_identity("phone", "138****8000") is None
    assert normalise_identity("phone", "13800138000-1234") is None
    assert normalise_identity("email", " Wang@Example.COM ") == ("email", "wang@example.com")
    assert normalise_identity("taobao_nick", " 小王 ") == ("taobao_nick", "小王")


def test_record_with_two_contacts_identities_merges_them(session: Session) -> None:
    first = resolve(session, [Claim([("taobao_nick", "小王")], {"name": "王"})], source="taobao")
    second = resolve(session, [Claim([("jd_pin", "wang")])], source="jd")
    assert first.contact_ids != second.contact_ids
    both = resolve(session, [Claim([("taobao_nick", "小王"), ("jd_pin", "wang")])], source="x")
    assert both.merged == 1
    survivor = min(first.contact_ids[0], second.contact_ids[0])
    absorbed = max(first.contact_ids[0], second.contact_ids[0])
    assert both.contact_ids == [survivor]
    assert session.get(Contact, absorbed) is None
    # The absorbed id keeps resolving to the survivor.
    assert service.get_by_ref(session, absorbed).id == survivor
    assert (
        session.execute(
            select(ContactAlias.contact_id).where(ContactAlias.old_id == absorbed)
        ).scalar()
        == survivor
    )


def test_merge_moves_orders_notes_tags_and_recomputes_rollups(session: Session) -> None:
    actor = Actor.cli()
    _apply(session, _order("T1", [("taobao_nick", "a")], 1000))
    _apply(session, _order("J2", [("jd_pin", "b")], 2500, "jd"))
    jd_contact = service.get_by_ref(session, "jd_pin:b")
    service.add_note(session, contact=jd_contact, body="喜欢面霜", actor=actor)
    service.add_tags(session, contact=jd_contact, tags=["兴趣:护肤"], actor=actor)
    taobao_contact = service.get_by_ref(session, "taobao_nick:a")
    absorbed_id = max(jd_contact.id, taobao_contact.id)
    merged = service.add_identity(session, contact=taobao_contact, ref="jd_pin:b", actor=actor)
    profile = service.profile(session, merged)
    assert profile["order_count"] == 2
    assert profile["total_spent"] == 3500
    assert profile["platforms"] == ["jd", "taobao"]
    assert profile["tags"] == ["兴趣:护肤"]
    assert [n["body"] for n in profile["notes"]] == ["喜欢面霜"]
    assert profile["merged_ids"] == [absorbed_id]
    assert profile["merges"][0]["evidence"]["identities"] == ["jd_pin:b"]


records = st.lists(
    st.tuples(
        st.integers(0, 5),  # order number
        st.lists(
            st.sampled_from(
                [("taobao_nick", f"n{i}") for i in range(4)]
                + [("phone", f"+861380013800{i}") for i in range(4)]
            ),
            min_size=1,
            max_size=3,
            unique=True,
        ),
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=records, order=st.randoms(use_true_random=False))
def test_any_order_gives_the_same_partition_and_rollups(session: Session, records, order) -> None:  # type: ignore[no-untyped-def]
    outcomes = []
    # As given; shuffled; shuffled again with what one import remembers between its chunks.
    for attempt in range(3):
        nested = session.begin_nested()
        shuffled = list(records) if attempt == 0 else order.sample(records, len(records))
        memory = ImportMemory() if attempt == 2 else None
        for number, identities in shuffled:
            _apply(session, _order(f"O{number}", list(identities), 100 * (number + 1)), memory)
        partition = {}
        for contact_id, kind, value in session.execute(
            select(ContactIdentity.contact_id, ContactIdentity.kind, ContactIdentity.value)
        ):
            partition.setdefault(contact_id, set()).add(f"{kind}:{value}")
        groups = sorted(sorted(v) for v in partition.values())
        rollups = sorted(
            (c.order_count, c.total_spent, c.platforms)
            for c in session.execute(select(Contact)).scalars()
        )
        orders = session.execute(select(func.count()).select_from(ContactOrder)).scalar()
        outcomes.append((groups, rollups, orders))
        assert session.execute(select(func.count()).select_from(ContactNote)).scalar() == 0
        nested.rollback()
    assert outcomes[0] == outcomes[1] == outcomes[2]


def test_lookups_by_impossible_ids_and_overlong_identities(session: Session) -> None:
    for ref in ("99999999999999999999999", "²"):
        with pytest.raises((NotFound, Invalid)):
            service.get_by_ref(session, ref)
    with pytest.raises(Invalid, match="longer than 255"):
        normalise_identity("external_id", "x" * 300)
    assert search.list_contacts(session, text="99999999999999999999999").items == []


@pytest.mark.parametrize("common_from", [0, 5000], ids=["common-tag", "rare-tag"])
def test_tag_filter_pages_the_same_either_way(
    session: Session, monkeypatch: pytest.MonkeyPatch, common_from: int
) -> None:
    monkeypatch.setattr("siyu.contacts.search.COMMON_TAG", common_from)
    actor = Actor.cli()
    tagged = []
    for n in range(7):
        contact = service.create_contact(session, actor=actor, identities=[f"external_id:t{n}"])
        if n % 2 == 0:
            service.add_tags(session, contact=contact, tags=["兴趣:茶"], actor=actor)
            tagged.append(contact.id)
    seen, cursor = [], None
    while True:
        page = search.list_contacts(session, tag="兴趣:茶", limit=2, cursor=cursor)
        seen += [c["id"] for c in page.items]
        if not (cursor := page.next_cursor):
            break
    assert seen == sorted(tagged, reverse=True)
    assert search.list_contacts(session, tag="no such tag").items == []


def test_claims_the_memory_settles_end_exactly_as_resolving_them_would(session: Session) -> None:
    """A repeat buyer's claim is settled from memory, unless another claim of the same batch
    reaches its contact: then it takes part in the merge, evidence and all."""
    batches = [
        [Claim([("taobao_nick", "a")], {"name": "甲"}), Claim([("taobao_nick", "b")])],
        [
            Claim([("taobao_nick", "a")], {"name": "甲"}),  # settled: nothing new
            Claim([("taobao_nick", "c")]),
            Claim([("taobao_nick", "a")], {"city": "杭州市"}),  # fills a field: resolved
        ],
        [
            Claim([("taobao_nick", "b")]),  # its contact is merged by the next claim
            Claim([("taobao_nick", "a"), ("taobao_nick", "b")]),
            Claim([("taobao_nick", "c")]),  # settled
        ],
    ]
    outcomes = []
    for memory in (None, ImportMemory()):
        nested = session.begin_nested()
        ids = [
            resolve(session, batch, source="taobao", memory=memory).contact_ids for batch in batches
        ]
        rank = {cid: n for n, cid in enumerate(sorted({c for batch in ids for c in batch}))}
        merges = session.execute(select(ContactMerge.evidence)).scalars().all()
        contacts = session.execute(
            select(Contact.id, Contact.name, Contact.city).order_by(Contact.id)
        ).all()
        outcomes.append(
            (
                [[rank[c] for c in batch] for batch in ids],
                [m["identities"] for m in merges],
                [(rank[cid], name, city) for cid, name, city in contacts],
            )
        )
        nested.rollback()
    assert outcomes[0] == outcomes[1]
    resolved, evidence, contacts = outcomes[1]
    assert resolved[2][0] == resolved[2][1] == resolved[0][0]  # b joined a, the older
    assert evidence == [["taobao_nick:a", "taobao_nick:b", "taobao_nick:b"]]
    assert contacts[0][1:] == ("甲", "杭州市")
