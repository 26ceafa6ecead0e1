"""Bad input is never a 500: each mistake is a 4xx problem+json that says what was wrong."""

from __future__ import annotations

from typing import Any

import pytest

from siyu.kit.pagination import encode_cursor
from tests.api.conftest import Api, assert_problem

URL = "/api/v1/contacts"
HUGE = "9" * 30  # beyond any integer column


@pytest.fixture
def contact(api: Api) -> dict[str, Any]:
    return api.ok("POST", URL, 201, json={"identities": ["phone:13800138000"]}, scope="write")


def test_malformed_json(api: Api) -> None:
    response = api.post(
        URL,
        content=b'{"identities": ["phone:13800138000"',
        headers={"Content-Type": "application/json"},
        scope="write",
    )
    assert_problem(response, 422, "json")


def test_body_that_is_not_an_object(api: Api) -> None:
    response = api.post(URL, json=["phone:13800138000"], scope="write")
    assert_problem(response, 422, "object")


def test_wrong_types(api: Api, contact: dict[str, Any]) -> None:
    body = assert_problem(
        api.post(URL, json={"identities": "phone:13800138000", "name": 5}, scope="write"), 422
    )
    fields = {e["field"] for e in body["errors"]}
    assert {"identities", "name"} <= fields, body
    assert "identities" in body["detail"]
    response = api.put(
        f"{URL}/{contact['id']}/consents/email", json={"granted": "maybe"}, scope="write"
    )
    assert_problem(response, 422, "granted")
    assert_problem(
        api.post(f"{URL}/{contact['id']}/tags", json={"tags": []}, scope="write"), 422, "tags"
    )
    assert_problem(api.post(f"{URL}/{contact['id']}/notes", json={}, scope="write"), 422, "body")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "", {"identities": [], "nickname": "x"}),
        ("PATCH", "/{id}", {"name": "x", "nickname": "x"}),
        ("POST", "/{id}/identities", {"identity": "email:a@b.cn", "nickname": "x"}),
        ("POST", "/{id}/tags", {"tags": ["VIP"], "nickname": "x"}),
        ("POST", "/{id}/notes", {"body": "hi", "nickname": "x"}),
        ("PUT", "/{id}/consents/email", {"granted": True, "nickname": "x"}),
    ],
)
def test_unknown_fields_are_refused(
    api: Api, contact: dict[str, Any], method: str, path: str, body: dict[str, Any]
) -> None:
    url = URL + path.format(id=contact["id"])
    assert_problem(api.request(method, url, json=body, scope="write"), 422, "nickname")


def test_unknown_fields_in_api_key_create(api: Api) -> None:
    assert_problem(api.post("/api/v1/api-keys", json={"name": "k", "role": "x"}), 422, "role")


def test_patch_cannot_touch_what_is_not_editable(api: Api, contact: dict[str, Any]) -> None:
    response = api.patch(f"{URL}/{contact['id']}", json={"id": 5, "total_spent": 1}, scope="write")
    assert_problem(response, 422, "total_spent")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "",
        "e30",
        encode_cursor(1, 2),
        encode_cursor("abc"),
        encode_cursor(None),
        encode_cursor(10**30),
    ],
    ids=["not-base64", "empty", "json-object", "wrong-length", "not-an-id", "null", "huge-id"],
)
def test_bad_contact_cursor(api: Api, cursor: str) -> None:
    response = api.get(URL, params={"cursor": cursor, "limit": 1}, scope="read")
    if cursor == "":
        # An empty cursor is the first page, as if none were given.
        assert response.status_code == 200, response.text
    else:
        assert_problem(response, 422, "cursor")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        encode_cursor(1),
        encode_cursor("yesterday", 3),
        encode_cursor("2024-01-01T00:00:00+00:00", "x"),
        encode_cursor("2024-01-01T00:00:00", 3),
        encode_cursor("0001-01-01T00:00:00+14:00", 3),
        encode_cursor("2024-01-01T00:00:00+00:00", 10**30),
    ],
    ids=["not-base64", "wrong-length", "not-a-time", "not-an-id", "naive", "year-0", "huge-id"],
)
def test_bad_order_cursor(api: Api, orders: dict[str, Any], cursor: str) -> None:
    assert_problem(
        api.get("/api/v1/orders", params={"cursor": cursor}, scope="read"), 422, "cursor"
    )
    wang = "taobao_nick:小王"
    response = api.get(f"{URL}/{wang}/orders", params={"cursor": cursor}, scope="read")
    assert_problem(response, 422, "cursor")


@pytest.mark.parametrize(
    ("ref", "needles"),
    [
        ("phone:abc", ["'abc'", "phone"]),
        ("nokind", ["kind:value"]),
        ("fax:123", ["unknown identity kind", "fax"]),
        ("phone:", ["kind:value"]),
        ("phone:138****1234", ["phone"]),
    ],
)
def test_bad_identity_refs(api: Api, contact: dict[str, Any], ref: str, needles: list[str]) -> None:
    cid = contact["id"]
    assert_problem(api.get(f"{URL}/{ref}", scope="read"), 422, *needles)
    assert_problem(api.get(URL, params={"identity": ref}, scope="read"), 422, *needles)
    assert_problem(api.post(URL, json={"identities": [ref]}, scope="write"), 422, *needles)
    response = api.post(f"{URL}/{cid}/identities", json={"identity": ref}, scope="write")
    assert_problem(response, 422, *needles)
    assert_problem(api.delete(f"{URL}/{cid}/identities/{ref}", scope="write"), 422, *needles)


@pytest.mark.parametrize("limit", ["0", "-1", "501", "100000", HUGE, "ten", "1.5"])
def test_bad_limits(api: Api, limit: str) -> None:
    for url in (URL, "/api/v1/orders"):
        assert_problem(api.get(url, params={"limit": limit}, scope="read"), 422, "limit")


def test_unknown_and_malformed_ids(api: Api, contact: dict[str, Any]) -> None:
    assert_problem(api.get("/api/v1/orders/424242", scope="read"), 404, "424242")
    assert_problem(api.get("/api/v1/orders/abc", scope="read"), 422, "order_id")
    # Numeric ids are checked against the 64-bit range before any query runs.
    assert_problem(api.get(f"/api/v1/orders/{HUGE}", scope="read"), 422, "order_id")
    assert_problem(api.get("/api/v1/orders/0", scope="read"), 422, "order_id")
    assert_problem(api.get(f"{URL}/{HUGE}", scope="read"), 404, HUGE)
    assert_problem(api.patch(f"{URL}/{HUGE}", json={"name": "x"}, scope="write"), 404, HUGE)
    assert_problem(api.get("/api/v1/imports/424242", scope="read"), 404, "424242")
    assert_problem(api.get(f"/api/v1/imports/{HUGE}", scope="read"), 422, "job_id")
    assert_problem(api.get(f"/api/v1/imports/{HUGE}/errors.csv", scope="read"), 422, "job_id")
    # Digits that are not ASCII digits ("²" passes str.isdigit) name no contact and no key.
    assert_problem(api.get(f"{URL}/²", scope="read"), 404)
    assert_problem(api.delete("/api/v1/api-keys/²"), 404)
    assert_problem(api.delete("/api/v1/api-keys/424242"), 404, "424242")
    assert_problem(api.delete(f"/api/v1/api-keys/{HUGE}"), 404, HUGE)


def test_text_the_database_cannot_store(api: Api, contact: dict[str, Any]) -> None:
    # PostgreSQL refuses NUL characters in text; that is the client's mistake, not a crash.
    cid = contact["id"]
    assert_problem(api.post(URL, json={"identities": [], "name": "王\x00"}, scope="write"), 422)
    assert_problem(api.patch(f"{URL}/{cid}", json={"city": "\x00"}, scope="write"), 422)
    assert_problem(api.post(f"{URL}/{cid}/notes", json={"body": "a\x00b"}, scope="write"), 422)
    assert_problem(api.post(f"{URL}/{cid}/tags", json={"tags": ["a\x00"]}, scope="write"), 422)
    response = api.post(
        f"{URL}/{cid}/identities", json={"identity": "external_id:\x00"}, scope="write"
    )
    assert_problem(response, 422)
    assert_problem(api.get(URL, params={"q": "a\x00"}, scope="read"), 422)
    assert_problem(api.post("/api/v1/api-keys", json={"name": "k\x00"}), 422, "NUL")
    assert_problem(api.post(URL, json={"traits": {"a\x00": 1}}, scope="write"), 422, "NUL")
    assert api.ok("GET", f"{URL}/{cid}", scope="read")["name"] is None


def test_overlong_values(api: Api, contact: dict[str, Any]) -> None:
    cid = contact["id"]
    assert_problem(api.post(URL, json={"name": "x" * 201}, scope="write"), 422, "name")
    response = api.post(f"{URL}/{cid}/tags", json={"tags": ["t" * 65]}, scope="write")
    assert_problem(response, 422, "too long")
    response = api.post(f"{URL}/{cid}/notes", json={"body": "x" * 10001}, scope="write")
    assert_problem(response, 422, "body")
    response = api.post(
        f"{URL}/{cid}/identities", json={"identity": "external_id:" + "x" * 300}, scope="write"
    )
    assert response.status_code in (200, 422), response.text


def test_bad_scopes_for_a_new_key(api: Api) -> None:
    assert_problem(
        api.post("/api/v1/api-keys", json={"name": "k", "scopes": ["root"]}), 422, "root"
    )
    assert_problem(api.post("/api/v1/api-keys", json={"name": "k", "scopes": []}), 422, "scopes")
    assert_problem(api.post("/api/v1/api-keys", json={"name": ""}), 422, "name")


def test_unknown_path_and_method(api: Api) -> None:
    assert_problem(api.get("/api/v1/nothing-here", scope="read"), 404)
    assert_problem(api.request("PUT", URL, json={}, scope="write"), 405)
