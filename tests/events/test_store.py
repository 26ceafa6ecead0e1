"""Storing calls: profile fields an identify fills, whatever the contact already has."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from siyu.contacts.models import Contact, ContactIdentity
from tests.events.conftest import Source, in_session, send


def _contact(anonymous_id: str) -> Contact:
    def read(session):  # type: ignore[no-untyped-def]
        contact_id = session.execute(
            select(ContactIdentity.contact_id).where(
                ContactIdentity.kind == "anonymous_id", ContactIdentity.value == anonymous_id
            )
        ).scalar_one()
        return session.get(Contact, contact_id)

    return in_session(read)


def test_identify_fills_only_empty_profile_fields(client: TestClient, source: Source) -> None:
    def identify(traits: dict) -> None:
        body = {"anonymousId": "anon-p", "traits": traits}
        assert send(client, "identify", body, key=source.key).status_code == 200

    send(client, "track", {"anonymousId": "anon-p", "event": "Viewed"}, key=source.key)
    assert _contact("anon-p").name is None
    identify({"name": "李雷"})
    identify({"name": "韩梅梅"})  # a name is set: it stays
    identify({"name": "韩梅梅", "address": {"city": "苏州"}})  # the city was empty: filled
    contact = _contact("anon-p")
    assert (contact.name, contact.city, contact.province) == ("李雷", "苏州", None)
    assert contact.traits["name"] == "韩梅梅"  # traits follow the latest call


def test_a_batch_fills_each_new_and_known_person(client: TestClient, source: Source) -> None:
    send(client, "track", {"anonymousId": "anon-k", "event": "Viewed"}, key=source.key)
    batch = {
        "batch": [
            {"type": "identify", "anonymousId": "anon-k", "traits": {"name": "王五"}},
            {"type": "identify", "anonymousId": "anon-n", "traits": {"name": "赵六"}},
            {"type": "identify", "anonymousId": "anon-k", "traits": {"name": "钱七"}},
        ]
    }
    assert send(client, "batch", batch, key=source.key).status_code == 200
    assert _contact("anon-k").name == "王五"
    assert _contact("anon-n").name == "赵六"
