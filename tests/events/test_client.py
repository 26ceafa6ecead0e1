"""The real analytics-python client (segment-analytics-python) against a live Siyu server.

Clients retry anything but a 200, so a message can arrive twice: once when the server failed
before storing it, once when it stored it and the answer was lost. Either way it is kept once.
The failures come from a wrapper around the app in this test, never from production code.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from segment.analytics import Client

from siyu.api.app import create_app
from tests.events.conftest import LiveServer, Source, events


class FailFirst:
    """ASGI wrapper: the first POST to /v1/batch fails, before or after the app handled it."""

    def __init__(self, app: Any, *, after: bool) -> None:
        self.app = app
        self.after = after
        self.attempts = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/batch":
            await self.app(scope, receive, send)
            return
        self.attempts += 1
        if self.attempts > 1:
            await self.app(scope, receive, send)
            return
        if self.after:
            # Let the app store the batch, then lose its answer, as a dropped connection would.
            async def swallow(_message: dict[str, Any]) -> None:
                return None

            await self.app(scope, receive, swallow)
        status = 500 if self.after else 503
        body = json.dumps({"code": "test", "message": "failing once on purpose"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def run_client(url: str, key: str) -> list[Any]:
    errors: list[Any] = []
    client = Client(
        key,
        host=url,
        upload_interval=0.05,
        max_retries=3,
        on_error=lambda error, batch: errors.append(error),
    )
    client.identify("user-1", {"email": "li@example.com", "name": "李雷"}, anonymous_id="anon-1")
    client.track("user-1", "Order Completed", {"revenue": 99.5, "currency": "CNY"})
    client.page("user-1", category="Docs", name="Pricing", properties={"url": "/pricing"})
    client.flush()
    client.shutdown()
    return errors


def check_stored_once(source: Source) -> None:
    stored = events()
    assert sorted((e.type, e.name) for e in stored) == [
        ("identify", None),
        ("page", "Pricing"),
        ("track", "Order Completed"),
    ]
    assert len({e.message_id for e in stored}) == 3
    assert len({e.contact_id for e in stored}) == 1  # user-1 throughout
    track = next(e for e in stored if e.type == "track")
    assert track.properties == {"revenue": 99.5, "currency": "CNY"}
    assert track.context["library"]["name"] == "analytics-python"
    assert all(e.source_id == source.id for e in stored)


def test_identify_track_and_page_arrive_once(source: Source) -> None:
    with LiveServer(create_app()) as server:
        assert run_client(server.url, source.key) == []
    check_stored_once(source)


@pytest.mark.parametrize("after", [False, True], ids=["failed-before-storing", "answer-lost"])
def test_a_retried_batch_is_stored_once(source: Source, after: bool) -> None:
    app = FailFirst(create_app(), after=after)
    with LiveServer(app) as server:
        assert run_client(server.url, source.key) == []
    assert app.attempts >= 2  # the client did retry
    check_stored_once(source)
