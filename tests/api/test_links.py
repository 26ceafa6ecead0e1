"""GET and POST /api/v1/links: read keys list, write keys create, bad targets are refused."""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.ingest.inbound import links
from tests.api.conftest import Api, assert_problem

SALE = {
    "name": "双十一短信",
    "target_url": "https://shop.example.cn/sale?sku=1",
    "campaign": "双十一",
    "utm_source": "sms",
}


def test_create_and_list_links(api: Api, session: Session) -> None:
    created = api.ok("POST", "/api/v1/links", 201, scope="write", json={**SALE, "code": "d11"})
    assert created["code"] == "d11" and created["path"] == "/l/d11"
    assert created["url"] == "http://testserver/l/d11"
    assert created["redirect_url"] == (
        "https://shop.example.cn/sale?sku=1&utm_source=sms&utm_campaign=%E5%8F%8C%E5%8D%81%E4%B8%80"
    )
    assert created["utm"] == {"utm_source": "sms"} and created["clicks"] == 0
    generated = api.ok(
        "POST", "/api/v1/links", 201, json={"name": "海报", "target_url": "https://a.cn"}
    )
    assert len(generated["code"]) == links.CODE_LENGTH

    for _ in range(2):
        links.record_click(session, code="d11", visitor=links.Visitor())
    body = api.ok("GET", "/api/v1/links", scope="read")
    assert [item["code"] for item in body["items"]] == [generated["code"], "d11"]
    assert body["items"][1]["clicks"] == 2 and body["items"][1]["last_clicked_at"]
    assert {"campaign": "双十一", "links": 1, "clicks": 2, "contacts": 0} in body["campaigns"]
    only = api.ok("GET", "/api/v1/links?campaign=双十一", scope="read")
    assert [item["code"] for item in only["items"]] == ["d11"]


def test_bad_links_are_refused(api: Api) -> None:
    for target in ("javascript:alert(1)", "data:text/html,x", "//evil.example"):
        response = api.post("/api/v1/links", scope="write", json={**SALE, "target_url": target})
        assert_problem(response, 422, "target URL")
    api.ok("POST", "/api/v1/links", 201, scope="write", json={**SALE, "code": "taken"})
    response = api.post("/api/v1/links", scope="write", json={**SALE, "code": "taken"})
    assert_problem(response, 409, "taken")
    response = api.post("/api/v1/links", scope="write", json={**SALE, "extra": 1})
    assert response.status_code == 422


def test_a_read_key_may_not_create_links(api: Api) -> None:
    response = api.post("/api/v1/links", scope="read", json=SALE)
    assert_problem(response, 403, "write")
