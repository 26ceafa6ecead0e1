"""The suppression list over the API: add (201, or 200 when listed), list, remove (204)."""

from __future__ import annotations

from tests.api.conftest import Api, assert_problem

URL = "/api/v1/suppressions"


def test_add_list_remove(api: Api) -> None:
    row = api.ok("POST", URL, 201, json={"address": "Lin@Example.com", "reason": "complained"})
    assert (row["address_kind"], row["address"]) == ("email", "lin@example.com")
    assert row["source"] == "api" and row["reason"] == "complained"
    assert api.ok("POST", URL, 200, json={"address": "lin@example.com"})["id"] == row["id"]
    api.ok("POST", URL, 201, json={"address": "13800138000", "kind": "phone"}, scope="write")
    listed = api.ok("GET", URL, scope="read")
    assert [r["address"] for r in listed["items"]] == ["+8613800138000", "lin@example.com"]
    assert api.ok("GET", URL, params={"kind": "email"}, scope="read")["items"][0]["id"] == row["id"]
    api.ok("DELETE", URL, 204, params={"address": "+86 138 0013 8000"}, scope="write")
    assert len(api.ok("GET", URL, scope="read")["items"]) == 1
    assert_problem(api.delete(URL, params={"address": "13800138000"}, scope="write"), 404)


def test_problems(api: Api) -> None:
    assert_problem(api.post(URL, json={"address": "nobody", "kind": "email"}), 422, "e-mail")
    assert_problem(api.post(URL, json={"address": "x", "kind": "fax"}), 422, "fax", "email")
    assert_problem(api.post(URL, json={"address": "a@b.cn"}, scope="read"), 403)
    assert_problem(api.get(URL, params={"kind": "fax"}, scope="read"), 422)
    assert_problem(api.delete(URL, scope="write"), 422, "address")
