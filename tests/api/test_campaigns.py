"""Channels and campaigns over the REST API, and the tracked link a message carries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.engage import tokens
from siyu.engage.models import EngageClick, EngageMessage
from siyu.worker.models import Job
from tests.api.conftest import Api, assert_problem
from tests.engage.keeping import keeping

__all__ = ["keeping"]  # the fixture, used by name

BODY = "{{ name | default('您好') }}，上新了 {{ unsubscribe_url }}"


def _channel(api: Api, keeping: Any) -> dict[str, Any]:
    return api.ok("POST", "/api/v1/channels", 201, json={"kind": "keeping", "name": "k"})


def test_a_campaign_is_created_checked_and_started(
    api: Api, orders: Any, keeping: Any, session: Session
) -> None:
    channel = _channel(api, keeping)
    created = api.ok(
        "POST", "/api/v1/campaigns", 201,
        json={"name": "上新", "channel": channel["id"], "query": "order_count >= 1",
              "variants": [{"subject": "上新", "body": BODY}]},
    )  # fmt: skip
    assert created["state"] == "draft" and created["query"] == "order_count >= 1"
    report = api.ok("POST", f"/api/v1/campaigns/{created['id']}/check")
    assert report["ok"] and report["recipients"] >= 1
    started = api.ok("POST", f"/api/v1/campaigns/{created['id']}/start")
    assert started["state"] == "scheduled"
    job = session.scalars(select(Job).where(Job.kind == "engage.campaign_start")).one()
    assert job.payload == {"campaign_id": created["id"]}  # written with the start (outbox)
    stats = api.ok("GET", f"/api/v1/campaigns/{created['id']}/stats", scope="read")
    assert {"queued", "sent", "failed", "suppressed", "unknown", "clicked", "converted"} <= set(
        stats
    )
    paused = api.ok("POST", f"/api/v1/campaigns/{created['id']}/pause")
    assert paused["state"] == "paused"


def test_bad_campaigns_are_problems_that_say_why(api: Api, keeping: Any) -> None:
    channel = _channel(api, keeping)
    base = {"name": "x", "channel": channel["id"], "query": "order_count >= 1"}
    assert_problem(
        api.post("/api/v1/campaigns", json={**base, "variants": [{"body": "{% if %}"}]}),
        422, "line 1",
    )  # fmt: skip
    assert_problem(
        api.post("/api/v1/campaigns", json={**base, "query": "cty = 1", "variants": [{}]}),
        422, "unknown field 'cty'",
    )  # fmt: skip
    assert_problem(
        api.post("/api/v1/campaigns", json={**base, "channel": "nope", "variants": [{}]}),
        404, "no channel 'nope'",
    )  # fmt: skip
    draft = api.ok(
        "POST",
        "/api/v1/campaigns",
        201,
        json={**base, "variants": [{"subject": "s", "body": "没有退订链接"}]},
    )
    assert_problem(api.post(f"/api/v1/campaigns/{draft['id']}/start"), 422, "unsubscribe link")
    assert_problem(
        api.post("/api/v1/channels", json={"kind": "pigeon"}), 422, "unknown channel kind"
    )
    assert_problem(api.post("/api/v1/campaigns", scope="read", json=base), 403)


def test_a_tracked_link_counts_the_click_and_redirects(
    api: Api, orders: Any, keeping: Any, session: Session
) -> None:
    channel = _channel(api, keeping)
    created = api.ok(
        "POST", "/api/v1/campaigns", 201,
        json={"name": "c", "channel": channel["id"], "query": "order_count >= 1",
              "variants": [{"subject": "s", "body": BODY}]},
    )  # fmt: skip
    content_id, contact_id = _content(session, created["id"]), _any_contact(session)
    message = EngageMessage(
        key="campaign:x:1", campaign_id=created["id"], content_id=content_id,
        channel_id=channel["id"], contact_id=contact_id, state="sent",
    )  # fmt: skip
    session.add(message)
    session.flush()
    url = tokens.click_url(message.id, "https://shop.example/new?a=1")
    path = url.removeprefix("http://127.0.0.1:8000")
    for _ in range(2):
        response = api.client.get(path, follow_redirects=False)
        assert response.status_code == 302
        assert response.headers["location"] == "https://shop.example/new?a=1"
    session.refresh(message)
    assert message.clicks == 2 and message.first_clicked_at is not None
    assert len(session.scalars(select(EngageClick)).all()) == 2
    assert api.client.get(path[:-3] + "abc", follow_redirects=False).status_code == 404
    stats = api.ok("GET", f"/api/v1/campaigns/{created['id']}/stats")
    assert stats["clicked"] == 1


def _content(session: Session, campaign_id: int) -> int:
    from siyu.engage.models import EngageContent

    return session.scalars(
        select(EngageContent.id).where(EngageContent.campaign_id == campaign_id)
    ).one()


def _any_contact(session: Session) -> int:
    from siyu.contacts.models import Contact

    return session.scalars(select(Contact.id).limit(1)).one()
