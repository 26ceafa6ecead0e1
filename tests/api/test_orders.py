"""Orders over the API: imported through the canonical CSV, listed, paged and fetched with lines."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api, assert_problem


def test_list_orders_newest_first_with_lines(api: Api, orders: dict[str, Any]) -> None:
    page = api.ok("GET", "/api/v1/orders", scope="read")
    assert page["next_cursor"] is None
    assert [o["platform_order_id"] for o in page["items"]] == ["T1002", "T1001", "J2001"]
    t1001 = page["items"][1]
    assert t1001["platform"] == "taobao"
    assert t1001["status"] == "completed"
    assert (t1001["total_amount"], t1001["currency"]) == (12900, "CNY")
    assert t1001["placed_at"].startswith("2024-03-01T02:00:00")  # 10:00 in Shanghai
    assert [
        (li["line_no"], li["title"], li["quantity"], li["amount"]) for li in t1001["lines"]
    ] == [
        (1, "玫瑰精华", 2, 9900),
        (2, "小样", 1, 3000),
    ]


def test_orders_page_without_gaps_or_duplicates(api: Api, orders: dict[str, Any]) -> None:
    first = api.ok("GET", "/api/v1/orders", params={"limit": 2}, scope="read")
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = api.ok(
        "GET", "/api/v1/orders", params={"limit": 2, "cursor": first["next_cursor"]}, scope="read"
    )
    assert second["next_cursor"] is None
    ids = [o["platform_order_id"] for o in first["items"] + second["items"]]
    assert ids == ["T1002", "T1001", "J2001"]


def test_filter_orders_by_platform(api: Api, orders: dict[str, Any]) -> None:
    page = api.ok("GET", "/api/v1/orders", params={"platform": "jd"}, scope="read")
    assert [o["platform_order_id"] for o in page["items"]] == ["J2001"]
    assert api.ok("GET", "/api/v1/orders", params={"platform": "pdd"}, scope="read")["items"] == []


def test_get_order(api: Api, orders: dict[str, Any]) -> None:
    listed = api.ok("GET", "/api/v1/orders", params={"platform": "jd"}, scope="read")["items"][0]
    order = api.ok("GET", f"/api/v1/orders/{listed['id']}", scope="read")
    assert order == listed
    zhang = api.ok("GET", "/api/v1/contacts/jd_pin:zhang_san", scope="read")
    assert order["contact_id"] == zhang["id"]
    assert order["lines"] == [
        {
            "line_no": 1,
            "title": "电动牙刷",
            "sku": None,
            "quantity": 1,
            "unit_price": 129900,
            "amount": 129900,
        }
    ]
    assert_problem(api.get(f"/api/v1/orders/{listed['id'] + 1000}", scope="read"), 404, "no order")


def test_a_contacts_orders(api: Api, orders: dict[str, Any]) -> None:
    url = "/api/v1/contacts/taobao_nick:小王/orders"
    page = api.ok("GET", url, params={"limit": 1}, scope="read")
    assert [o["platform_order_id"] for o in page["items"]] == ["T1002"]
    rest = api.ok("GET", url, params={"cursor": page["next_cursor"]}, scope="read")
    assert [o["platform_order_id"] for o in rest["items"]] == ["T1001"]
    assert rest["next_cursor"] is None
    assert_problem(api.get("/api/v1/contacts/taobao_nick:nobody/orders", scope="read"), 404)
