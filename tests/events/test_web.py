"""/t.js and the CORS answers of /v1 that browser tracking needs (the browser itself is in
tests/browser/test_tracking.py)."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from siyu.events.web import SCRIPT
from tests.events.conftest import Source, events

ORIGIN = {"Origin": "https://shop.example"}


def test_the_script_is_served_small_cacheable_and_revalidated(client: TestClient) -> None:
    response = client.get("/t.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "max-age=3600" in response.headers["cache-control"]
    assert response.content == SCRIPT.read_bytes()
    # A few KB: every site's visitors load it.
    assert len(response.content) < 8 * 1024
    again = client.get("/t.js", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


def test_the_script_needs_no_sign_in(client: TestClient) -> None:
    response = client.get("/t.js", follow_redirects=False)
    assert response.status_code == 200


def test_preflight_allows_any_origin_to_post_json(client: TestClient) -> None:
    response = client.options(
        "/v1/batch",
        headers={
            **ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,authorization",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "content-type" in allowed and "authorization" in allowed


def test_answers_carry_cors_headers_whatever_the_outcome(
    client: TestClient, source: Source
) -> None:
    body = {
        "writeKey": source.key,
        "batch": [{"type": "track", "event": "add_to_cart", "anonymousId": "a1", "messageId": "m"}],
    }
    # text/plain: what navigator.sendBeacon sends, without a preflight.
    ok = client.post(
        "/v1/batch",
        content=json.dumps(body),
        headers={**ORIGIN, "Content-Type": "text/plain;charset=UTF-8"},
    )
    assert ok.status_code == 200 and ok.json() == {"success": True}
    assert ok.headers["access-control-allow-origin"] == "*"
    assert [e.name for e in events()] == ["add_to_cart"]
    bad = client.post("/v1/batch", content=b"{", headers=ORIGIN)
    assert bad.status_code == 400 and bad.headers["access-control-allow-origin"] == "*"
    unknown = client.post("/v1/nothing", content=b"{}", headers=ORIGIN)
    assert unknown.status_code == 404 and unknown.headers["access-control-allow-origin"] == "*"


def test_cors_stays_off_the_rest_api(client: TestClient) -> None:
    response = client.get("/api/v1/health", headers=ORIGIN)
    assert "access-control-allow-origin" not in response.headers
