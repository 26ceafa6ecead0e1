"""Segments over the REST API: count, convert, create, members, export, errors as problems."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.api.conftest import Api, assert_problem


def test_count_answers_with_the_count_and_the_canonical_query(api: Api, orders: Any) -> None:
    body = api.ok(
        "POST", "/api/v1/segments/count", scope="read",
        json={"query": "order_count >= 1 AND has(phone)", "sample": 5},
    )  # fmt: skip
    assert body["count"] == 1 and isinstance(body["sql_ms"], float)
    assert body["query"] == "order_count >= 1 and has(phone)"
    assert body["definition"]["and"][1] == {"call": "has", "args": {"kind": "phone"}}
    assert [row["name"] for row in body["sample"]] == ["王小明"]
    same = api.ok("POST", "/api/v1/segments/count", json={"definition": body["definition"]})
    assert same["count"] == 1


def test_a_wrong_query_is_a_problem_with_line_column_and_suggestion(api: Api) -> None:
    response = api.post("/api/v1/segments/count", json={"query": 'tag("VIP") and\ncty = "杭州"'})
    body = assert_problem(response, 422, "unknown field 'cty'", "line 2, column 1")
    assert (body["line"], body["column"], body["suggestion"]) == (2, 1, "city")
    response = api.post("/api/v1/segments/count", json={"query": "order_count >="})
    body = assert_problem(response, 422, "ends too early")
    assert "a number" in body["expected"]
    assert_problem(api.post("/api/v1/segments/count", json={}), 422, "needs a query")
    response = api.post(
        "/api/v1/segments/count", json={"definition": {"field": "city", "op": "<", "value": "a"}}
    )
    assert assert_problem(response, 422, "cannot be compared")["path"] == "$"


def test_convert_goes_both_ways(api: Api) -> None:
    node = api.ok("POST", "/api/v1/segments/convert", json={"query": "total_spent >= 500元"})
    assert node["definition"] == {"field": "total_spent", "op": ">=", "value": {"money": 50000}}
    back = api.ok("POST", "/api/v1/segments/convert", json={"definition": node["definition"]})
    assert back["query"] == "total_spent >= ¥500"
    assert_problem(api.post("/api/v1/segments/convert", json={}), 422, "exactly one")


def test_segments_are_made_listed_paged_and_exported(api: Api, orders: Any) -> None:
    made = api.ok(
        "POST", "/api/v1/segments", status=201, scope="write",
        json={"name": "买过的", "query": "order_count >= 1", "tag": "人群:买家"},
    )  # fmt: skip
    assert made["member_count"] == 2 and made["tag"] == "人群:买家" and made["kind"] == "dynamic"
    assert [s["name"] for s in api.ok("GET", "/api/v1/segments", scope="read")] == ["买过的"]
    assert api.ok("GET", "/api/v1/segments/买过的", scope="read")["id"] == made["id"]
    page = api.ok("GET", f"/api/v1/segments/{made['id']}/members?limit=1", scope="read")
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = api.ok(
        "GET", f"/api/v1/segments/{made['id']}/members?limit=1&cursor={page['next_cursor']}"
    )
    assert rest["next_cursor"] is None and rest["items"][0]["id"] < page["items"][0]["id"]
    response = api.get(f"/api/v1/segments/{made['id']}/export", scope="write")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 2 and {r["tags"] for r in rows} == {"人群:买家"}
    history = api.ok("GET", f"/api/v1/segments/{made['id']}/history")
    assert len(history) == 2 and all(h["exited_at"] is None for h in history)
    changed = api.ok("PATCH", f"/api/v1/segments/{made['id']}", json={"query": "order_count >= 2"})
    assert changed["member_count"] == 1
    assert api.ok("POST", f"/api/v1/segments/{made['id']}/refresh")["member_count"] == 1
    assert api.request("DELETE", f"/api/v1/segments/{made['id']}").status_code == 204
    assert_problem(api.get(f"/api/v1/segments/{made['id']}"), 404, "no segment")


def test_static_lists_over_the_api(api: Api, orders: Any) -> None:
    made = api.ok(
        "POST", "/api/v1/segments", status=201,
        json={"name": "黑名单", "kind": "static", "members": ["taobao_nick:小王"]},
    )  # fmt: skip
    assert made["member_count"] == 1 and made["query"] is None
    result = api.ok(
        "POST", "/api/v1/segments/黑名单/members", json={"remove": ["taobao_nick:小王"]}
    )
    assert result == {"added": 0, "removed": 1, "member_count": 0}
    response = api.post("/api/v1/segments/黑名单/members", json={"add": ["phone:13911112222"]})
    assert_problem(response, 422, "1 reference(s) name no contact", "phone:13911112222")


def test_conflicts_and_roles(api: Api) -> None:
    api.ok("POST", "/api/v1/segments", status=201, json={"name": "a", "query": "order_count >= 1"})
    response = api.post("/api/v1/segments", json={"name": "a", "query": "order_count >= 2"})
    assert_problem(response, 409, "already")
    response = api.post(
        "/api/v1/segments", scope="read", json={"name": "b", "query": "order_count >= 1"}
    )
    assert_problem(response, 403, "write")
