"""The /v1 tracking API over HTTP: every rule of the Segment spec Siyu follows."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from siyu.contacts import service as contacts_service
from siyu.contacts.models import Contact, ContactIdentity
from siyu.db.session import unit_of_work
from siyu.events import sources
from siyu.events.models import EventGroup, EventGroupMember
from siyu.kit.actor import Actor
from tests.events.conftest import Source, basic, events, in_session, send

OK = {"success": True}


def identities(contact_id: int) -> set[tuple[str, str]]:
    return {
        tuple(row)
        for row in in_session(
            lambda s: s.execute(
                select(ContactIdentity.kind, ContactIdentity.value).where(
                    ContactIdentity.contact_id == contact_id
                )
            ).all()
        )
    }


def contact_of(kind: str, value: str) -> int | None:
    return in_session(
        lambda s: s.execute(
            select(ContactIdentity.contact_id).where(
                ContactIdentity.kind == kind, ContactIdentity.value == value
            )
        ).scalar()
    )


def assert_error(response, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["code"] == code and isinstance(body["message"], str) and body["message"]


# --- authentication ---------------------------------------------------------------------


def test_every_way_of_giving_the_write_key(client: TestClient, source: Source) -> None:
    call = {"userId": "u1", "event": "Signed Up"}
    r = send(client, "track", {**call, "messageId": "m1"}, key=source.key)
    assert (r.status_code, r.json()) == (200, OK)
    r = send(client, "track", {**call, "messageId": "m2", "writeKey": source.key})
    assert (r.status_code, r.json()) == (200, OK)
    # An OAuth-style Bearer token with writeKey in the body, as Segment's docs show.
    r = send(
        client,
        "track",
        {**call, "messageId": "m3", "writeKey": source.key},
        headers={"Authorization": "Bearer some-access-token"},
    )
    assert (r.status_code, r.json()) == (200, OK)
    r = send(
        client,
        "track",
        {**call, "messageId": "m4"},
        headers={"Authorization": f"Bearer {source.key}"},
    )
    assert (r.status_code, r.json()) == (200, OK)
    assert [e.message_id for e in events()] == ["m1", "m2", "m3", "m4"]
    assert {e.source_id for e in events()} == {source.id}


@pytest.mark.parametrize(
    "headers, body_key",
    [
        ({}, None),
        (basic("sywk_wrongwrongwrongwrong"), None),
        (basic("not-a-key"), None),
        ({"Authorization": "Basic !!!"}, None),
        ({}, "sywk_wrongwrongwrongwrong"),
    ],
)
def test_a_bad_or_missing_key_is_401(
    client: TestClient, source: Source, headers: dict[str, str], body_key: str | None
) -> None:
    body = {"userId": "u1", "event": "x", **({"writeKey": body_key} if body_key else {})}
    assert_error(send(client, "track", body, headers=headers), 401, "unauthorized")
    assert events() == []


def test_a_revoked_key_stops_at_once(client: TestClient, source: Source) -> None:
    assert send(client, "track", {"userId": "u", "event": "a"}, key=source.key).status_code == 200
    with unit_of_work() as session:
        sources.revoke_source(session, ref=str(source.id), actor=Actor.cli())
    response = send(client, "track", {"userId": "u", "event": "b"}, key=source.key)
    assert_error(response, 401, "unauthorized")
    assert "revoked" in response.json()["message"]
    assert [e.name for e in events()] == ["a"]


def test_a_write_key_reads_nothing(client: TestClient, source: Source) -> None:
    for headers in ({"Authorization": f"Bearer {source.key}"}, basic(source.key)):
        for url in ("/api/v1/contacts", "/api/v1/sources"):
            assert client.get(url, headers=headers).status_code == 401


# --- bodies and limits ----------------------------------------------------------------


def test_gzip_bodies(client: TestClient, source: Source) -> None:
    batch = {"batch": [{"type": "track", "userId": "u", "event": "gz", "messageId": "g1"}]}
    r = send(client, "batch", batch, key=source.key, compress=True)
    assert (r.status_code, r.json()) == (200, OK)
    assert [e.name for e in events()] == ["gz"]
    r = client.post(
        "/v1/track",
        content=b"not gzip",
        headers={**basic(source.key), "Content-Encoding": "gzip"},
    )
    assert_error(r, 400, "invalid_gzip")


def test_bad_json_is_400_never_422(client: TestClient, source: Source) -> None:
    for content in (b"{not json", b"[1, 2]", "无效".encode("gbk")):
        r = client.post("/v1/track", content=content, headers=basic(source.key))
        assert_error(r, 400, "invalid_json")
    assert_error(send(client, "batch", {"batch": "x"}, key=source.key), 400, "invalid_batch")
    for bad in (
        {"event": "no ids"},
        {"userId": "u"},
        {"userId": {"a": 1}, "event": "x"},
        {"userId": "u", "event": "x", "properties": [1]},
        {"userId": "u", "event": "x", "timestamp": "yesterday"},
    ):
        assert_error(send(client, "track", bad, key=source.key), 400, "invalid_event")
    r = send(client, "batch", {"batch": [{"type": "explode", "userId": "u"}]}, key=source.key)
    assert_error(r, 400, "invalid_event")
    assert "batch[0]" in r.json()["message"]
    assert events() == []


def test_size_and_count_limits(client: TestClient, source: Source) -> None:
    big = "x" * (33 * 1024)
    r = send(
        client, "track", {"userId": "u", "event": "e", "properties": {"b": big}}, key=source.key
    )
    assert_error(r, 400, "too_large")
    item = {"type": "track", "userId": "u", "event": "e", "properties": {"b": big}}
    assert_error(send(client, "batch", {"batch": [item]}, key=source.key), 400, "too_large")
    # 20 events of 30 KB: each within the event limit, together past 500 KB.
    fat = [{"type": "track", "userId": "u", "event": "e", "properties": {"b": "y" * 30_000}}] * 20
    assert_error(send(client, "batch", {"batch": fat}, key=source.key), 400, "too_large")
    # Compression does not lift the limit: it applies to the unpacked body.
    r = send(client, "batch", {"batch": fat}, key=source.key, compress=True)
    assert_error(r, 400, "too_large")
    many = [{"type": "track", "userId": "u", "event": "e"}] * 2501
    assert_error(send(client, "batch", {"batch": many}, key=source.key), 400, "too_many_events")
    ok = [{"type": "track", "userId": "u", "event": "e", "messageId": f"m{i}"} for i in range(2500)]
    assert send(client, "batch", {"batch": ok}, key=source.key).json() == OK
    assert len(events()) == 2500


def test_other_paths_and_methods_answer_in_the_v1_shape(client: TestClient) -> None:
    assert_error(client.get("/v1/track"), 405, "method_not_allowed")
    assert_error(client.post("/v1/nothing"), 404, "not_found")


# --- dedup, times, batches -------------------------------------------------------------


def test_the_same_message_is_stored_once(client: TestClient, source: Source) -> None:
    call = {"userId": "u", "event": "Paid", "messageId": "dup-1"}
    for _ in range(3):
        assert send(client, "track", call, key=source.key).json() == OK
    batch = {"batch": [{**call, "type": "track"}, {**call, "type": "track"}]}
    assert send(client, "batch", batch, key=source.key).json() == OK
    assert len(events()) == 1
    # Per source: another site may use the same id for its own event.
    other = sources.create_source
    with unit_of_work() as session:
        _, key = other(session, name="小程序", actor=Actor.cli())
    assert send(client, "track", call, key=key).json() == OK
    assert len(events(message_id="dup-1")) == 2


def test_timestamps_are_corrected_for_the_senders_clock(client: TestClient, source: Source) -> None:
    # The sender's clock runs a day fast; the event happened 5 s before it was sent.
    fast = datetime.now(UTC) + timedelta(days=1)
    body = {
        "userId": "u",
        "event": "clock",
        "messageId": "c1",
        "timestamp": (fast - timedelta(seconds=5)).isoformat(),
        "sentAt": fast.isoformat(),
    }
    before = datetime.now(UTC)
    assert send(client, "track", body, key=source.key).json() == OK
    (event,) = events()
    assert before <= event.received_at <= datetime.now(UTC)
    assert event.timestamp == event.received_at - timedelta(seconds=5)
    assert event.original_timestamp == fast - timedelta(seconds=5)
    assert event.sent_at == fast
    # Without sentAt the timestamp stands (historical imports); without either, receipt time.
    old = "2012-12-02T00:30:08.276Z"
    send(client, "track", {"userId": "u", "event": "h", "timestamp": old}, key=source.key)
    send(client, "track", {"userId": "u", "event": "now"}, key=source.key)
    by_name = {e.name: e for e in events()}
    assert by_name["h"].timestamp == datetime(2012, 12, 2, 0, 30, 8, 276000, tzinfo=UTC)
    assert by_name["now"].timestamp == by_name["now"].received_at
    # Segment's own examples leave out zero padding.
    send(
        client,
        "track",
        {"userId": "u", "event": "p", "timestamp": "2015-2-02T00:30:08.276Z"},
        key=source.key,
    )
    assert {e.name: e for e in events()}["p"].timestamp == datetime(
        2015, 2, 2, 0, 30, 8, 276000, tzinfo=UTC
    )


def test_batch_context_and_integrations_merge_into_each_item(
    client: TestClient, source: Source
) -> None:
    sent = datetime.now(UTC) + timedelta(hours=2)
    body = {
        "batch": [
            {
                "type": "track",
                "userId": "u",
                "event": "one",
                "timestamp": (sent - timedelta(seconds=1)).isoformat(),
                "context": {"ip": "10.0.0.1"},
            },
            {
                "type": "page",
                "anonymousId": "a",
                "name": "Home",
                "category": "Docs",
                "integrations": {"All": True},
                "context": {"device": {"type": "ipad"}},
            },
        ],
        "context": {"device": {"type": "phone"}, "locale": "zh-CN"},
        "integrations": {"All": False, "Mixpanel": True},
        "sentAt": sent.isoformat(),
    }
    assert send(client, "batch", body, key=source.key).json() == OK
    one, home = events()
    assert one.context == {"device": {"type": "phone"}, "locale": "zh-CN", "ip": "10.0.0.1"}
    assert one.integrations == {"All": False, "Mixpanel": True}
    assert home.context == {"device": {"type": "ipad"}, "locale": "zh-CN"}
    assert home.integrations == {"All": True, "Mixpanel": True}
    assert (home.type, home.name, home.properties) == ("page", "Home", {"category": "Docs"})
    # The batch's sentAt corrects each item's time.
    assert one.timestamp == one.received_at - timedelta(seconds=1)
    assert one.sent_at == sent


# --- identity ---------------------------------------------------------------------------


def test_identify_links_the_anonymous_visitor_and_maps_traits(
    client: TestClient, source: Source
) -> None:
    send(client, "page", {"anonymousId": "anon-1", "name": "Landing"}, key=source.key)
    visitor = contact_of("anonymous_id", "anon-1")
    assert visitor is not None
    identify = {
        "userId": "user-42",
        "anonymousId": "anon-1",
        "traits": {
            "name": "王小明",
            "phone": "138 0013 8000",
            "email": "Wang@Example.com",
            "wechatUnionId": "o6_bmasdasdsad6_2sgVt7hMZOPfL",
            "plan": "vip",
            "address": {"city": "杭州", "state": "浙江"},
        },
    }
    assert send(client, "identify", identify, key=source.key).json() == OK
    assert contact_of("external_id", "user-42") == visitor
    assert identities(visitor) == {
        ("anonymous_id", "anon-1"),
        ("external_id", "user-42"),
        ("phone", "+8613800138000"),
        ("email", "wang@example.com"),
        ("wechat_unionid", "o6_bmasdasdsad6_2sgVt7hMZOPfL"),
    }
    contact = in_session(lambda s: s.get(Contact, visitor))
    assert (contact.name, contact.city, contact.province, contact.source) == (
        "王小明",
        "杭州",
        "浙江",
        "events",
    )
    assert contact.traits["plan"] == "vip"
    # Later events by user id land on the same person.
    send(client, "track", {"userId": "user-42", "event": "Order Completed"}, key=source.key)
    assert {e.contact_id for e in events()} == {visitor}


def test_identify_merges_with_a_customer_the_importers_know(
    client: TestClient, source: Source
) -> None:
    with unit_of_work() as session:
        known = contacts_service.create_contact(
            session, name="张三", identities=["phone:13900139000"], actor=Actor.cli()
        ).id
    send(client, "track", {"anonymousId": "anon-z", "event": "Viewed"}, key=source.key)
    visitor = contact_of("anonymous_id", "anon-z")
    assert visitor != known
    send(
        client,
        "identify",
        {"anonymousId": "anon-z", "traits": {"mobile": "13900139000"}},
        key=source.key,
    )
    assert contact_of("anonymous_id", "anon-z") == known  # the older contact survives
    with unit_of_work() as session:
        profile = contacts_service.profile(session, session.get(Contact, known))
    # The visitor's events follow it into the survivor's timeline.
    assert [e["name"] for e in profile["events"]][-1] == "Viewed"
    assert profile["lifecycle_stage"] == "lead"


def test_alias_merges_previous_and_new_ids(client: TestClient, source: Source) -> None:
    send(client, "track", {"anonymousId": "anon-a", "event": "A"}, key=source.key)
    send(client, "track", {"userId": "old-user", "event": "B"}, key=source.key)
    assert contact_of("anonymous_id", "anon-a") != contact_of("external_id", "old-user")
    r = send(client, "alias", {"previousId": "anon-a", "userId": "old-user"}, key=source.key)
    assert r.json() == OK
    assert contact_of("anonymous_id", "anon-a") == contact_of("external_id", "old-user")
    # An unknown previousId is taken as the anonymous id the library sent before.
    send(client, "alias", {"previousId": "anon-new", "userId": "new-user"}, key=source.key)
    assert contact_of("anonymous_id", "anon-new") == contact_of("external_id", "new-user")
    assert_error(send(client, "alias", {"userId": "x"}, key=source.key), 400, "invalid_event")


def test_group_records_membership(client: TestClient, source: Source) -> None:
    for user in ("u1", "u2"):
        body = {"userId": user, "groupId": "g-1", "traits": {"name": "杭州宝妈群", "size": 2}}
        assert send(client, "group", body, key=source.key).json() == OK
    send(
        client,
        "group",
        {"userId": "u1", "groupId": "g-1", "traits": {"name": "新名"}},
        key=source.key,
    )

    def groups(session):  # type: ignore[no-untyped-def]
        (group,) = session.execute(select(EventGroup)).scalars()
        members = session.execute(select(EventGroupMember.contact_id)).scalars()
        return group, set(members)

    group, members = in_session(groups)
    assert (group.group_key, group.name, group.traits) == ("g-1", "新名", {"name": "新名"})
    assert members == {contact_of("external_id", "u1"), contact_of("external_id", "u2")}
    assert [e.name for e in events(type="group")] == ["g-1"] * 3


def test_profile_shows_stage_and_recent_events(client: TestClient, source: Source) -> None:
    send(client, "page", {"anonymousId": "v", "name": "Home", "messageId": "p1"}, key=source.key)
    contact_id = contact_of("anonymous_id", "v")
    with unit_of_work() as session:
        profile = contacts_service.profile(session, session.get(Contact, contact_id))
    assert profile["lifecycle_stage"] == "visitor"
    (event,) = profile["events"]
    assert (event["type"], event["name"], event["message_id"]) == ("page", "Home", "p1")
    assert datetime.fromisoformat(event["timestamp"])
    json.dumps(profile)  # the CLI's --json prints it as it is


def test_basic_key_wins_over_the_body(client: TestClient, source: Source) -> None:
    header = {"Authorization": "Basic " + base64.b64encode(b"sywk_bad:").decode()}
    body = {"userId": "u", "event": "e", "writeKey": source.key}
    assert_error(send(client, "track", body, headers=header), 401, "unauthorized")
    assert gzip  # imported for the compressed cases above
