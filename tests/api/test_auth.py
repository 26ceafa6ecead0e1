"""Every API route demands a key (401 without a valid one) and its scope (403 without it).

The tests are parametrised over the app's own route table, so a route added without auth, or
without an entry in SCOPES, fails here.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.api.app import create_app
from siyu.audit.models import AuditEvent
from tests.api.conftest import Api, assert_problem

# Routes anyone may call: liveness for load balancers, and the API's own documentation.
PUBLIC = {("GET", "/api/v1/health")}

# The scope each route needs; a new route must be added here (test_every_route_has_a_scope).
SCOPES = {
    ("POST", "/api/v1/segments/count"): "read",
    ("POST", "/api/v1/segments/convert"): "read",
    ("GET", "/api/v1/segments"): "read",
    ("POST", "/api/v1/segments"): "write",
    ("GET", "/api/v1/segments/{ref}"): "read",
    ("PATCH", "/api/v1/segments/{ref}"): "write",
    ("DELETE", "/api/v1/segments/{ref}"): "write",
    ("GET", "/api/v1/segments/{ref}/members"): "read",
    ("POST", "/api/v1/segments/{ref}/members"): "write",
    ("POST", "/api/v1/segments/{ref}/refresh"): "write",
    ("GET", "/api/v1/segments/{ref}/history"): "read",
    ("GET", "/api/v1/segments/{ref}/export"): "write",
    ("GET", "/api/v1/exports"): "write",
    ("GET", "/api/v1/exports/{table}"): "write",
    ("GET", "/api/v1/contacts"): "read",
    ("POST", "/api/v1/contacts"): "write",
    ("GET", "/api/v1/contacts/{ref}"): "read",
    ("PATCH", "/api/v1/contacts/{ref}"): "write",
    ("POST", "/api/v1/contacts/{ref}/identities"): "write",
    ("DELETE", "/api/v1/contacts/{ref}/identities/{identity}"): "write",
    ("POST", "/api/v1/contacts/{ref}/tags"): "write",
    ("DELETE", "/api/v1/contacts/{ref}/tags/{tag}"): "write",
    ("GET", "/api/v1/contacts/{ref}/notes"): "read",
    ("POST", "/api/v1/contacts/{ref}/notes"): "write",
    ("PUT", "/api/v1/contacts/{ref}/consents/{channel}"): "write",
    ("GET", "/api/v1/contacts/{ref}/consent"): "read",
    ("POST", "/api/v1/contacts/{ref}/consent"): "write",
    ("GET", "/api/v1/contacts/{ref}/orders"): "read",
    ("GET", "/api/v1/orders"): "read",
    ("GET", "/api/v1/orders/{order_id}"): "read",
    ("GET", "/api/v1/reports/overview"): "read",
    ("GET", "/api/v1/reports/funnel"): "read",
    ("GET", "/api/v1/reports/rfm"): "read",
    ("POST", "/api/v1/reports/rfm/refresh"): "write",
    ("GET", "/api/v1/reports/dashboard"): "read",
    ("GET", "/api/v1/reports/repurchase"): "read",
    ("GET", "/api/v1/reports/cohorts"): "read",
    ("GET", "/api/v1/reports/acquisition"): "read",
    ("GET", "/api/v1/reports/returns"): "read",
    ("GET", "/api/v1/spend"): "read",
    ("POST", "/api/v1/spend"): "write",
    ("POST", "/api/v1/spend/import"): "write",
    ("DELETE", "/api/v1/spend/{spend_id}"): "write",
    ("POST", "/api/v1/clv/fit"): "write",
    ("GET", "/api/v1/clv"): "read",
    ("GET", "/api/v1/clv/holdout"): "read",
    ("GET", "/api/v1/contacts/{ref}/clv"): "read",
    ("POST", "/api/v1/imports"): "write",
    ("GET", "/api/v1/imports/{job_id}"): "read",
    ("GET", "/api/v1/imports/{job_id}/errors.csv"): "read",
    ("GET", "/api/v1/api-keys"): "admin",
    ("POST", "/api/v1/api-keys"): "admin",
    ("DELETE", "/api/v1/api-keys/{key_id}"): "admin",
    ("GET", "/api/v1/sources"): "admin",
    ("POST", "/api/v1/sources"): "admin",
    ("POST", "/api/v1/sources/{ref}/revoke"): "admin",
    ("GET", "/api/v1/audit"): "admin",
    ("GET", "/api/v1/links"): "read",
    ("POST", "/api/v1/links"): "write",
    ("GET", "/api/v1/channels"): "read",
    ("POST", "/api/v1/channels"): "write",
    ("PATCH", "/api/v1/channels/{ref}"): "write",
    ("GET", "/api/v1/campaigns"): "read",
    ("POST", "/api/v1/campaigns"): "write",
    ("GET", "/api/v1/campaigns/{campaign_id}"): "read",
    ("POST", "/api/v1/campaigns/{campaign_id}/check"): "read",
    ("POST", "/api/v1/campaigns/{campaign_id}/start"): "write",
    ("POST", "/api/v1/campaigns/{campaign_id}/pause"): "write",
    ("POST", "/api/v1/campaigns/{campaign_id}/resume"): "write",
    ("POST", "/api/v1/campaigns/{campaign_id}/cancel"): "write",
    ("POST", "/api/v1/campaigns/{campaign_id}/resend-unknown"): "write",
    ("POST", "/api/v1/campaigns/{campaign_id}/test"): "write",
    ("GET", "/api/v1/campaigns/{campaign_id}/stats"): "read",
    ("GET", "/api/v1/journeys"): "read",
    ("POST", "/api/v1/journeys"): "write",
    ("POST", "/api/v1/journeys/validate"): "read",
    ("GET", "/api/v1/journeys/ready"): "read",
    ("POST", "/api/v1/journeys/ready/{key}"): "write",
    ("GET", "/api/v1/journeys/{ref}"): "read",
    ("PATCH", "/api/v1/journeys/{ref}"): "write",
    ("DELETE", "/api/v1/journeys/{ref}"): "write",
    ("POST", "/api/v1/journeys/{ref}/validate"): "read",
    ("POST", "/api/v1/journeys/{ref}/activate"): "write",
    ("POST", "/api/v1/journeys/{ref}/pause"): "write",
    ("POST", "/api/v1/journeys/{ref}/archive"): "write",
    ("GET", "/api/v1/journeys/{ref}/stats"): "read",
    ("GET", "/api/v1/journeys/{ref}/enrolments"): "read",
    ("GET", "/api/v1/suppressions"): "read",
    ("POST", "/api/v1/suppressions"): "write",
    ("DELETE", "/api/v1/suppressions"): "write",
    ("GET", "/api/v1/coupons"): "read",
    ("POST", "/api/v1/coupons"): "write",
    ("POST", "/api/v1/coupons/redeem"): "write",
    ("GET", "/api/v1/coupons/codes/{code}"): "read",
    ("GET", "/api/v1/coupons/{ref}"): "read",
    ("POST", "/api/v1/coupons/{ref}/state"): "write",
    ("GET", "/api/v1/coupons/{ref}/codes"): "read",
    ("POST", "/api/v1/coupons/{ref}/issue"): "write",
}

# Plausible values for path parameters, so a request reaches the auth check of a real route.
SAMPLE = {
    "ref": "1",
    "identity": "phone:13800138000",
    "tag": "VIP",
    "channel": "email",
    "order_id": "1",
    "job_id": "1",
    "key_id": "1",
    "campaign_id": "1",
    "key": "welcome",
    "spend_id": "1",
    "table": "contact",
    "code": "SPABCDEFGHJKMN",
}


def app_routes() -> list[tuple[str, str]]:
    """Every operation the app serves under /api/v1, read from its own OpenAPI document."""
    paths = create_app().openapi()["paths"]
    return sorted(
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/api/v1/")
        for method in operations
    )


PROTECTED = [r for r in app_routes() if r not in PUBLIC]


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE[m.group(1)], path)


def route_id(route: tuple[str, str]) -> str:
    return f"{route[0]} {route[1]}"


def test_every_route_has_a_scope() -> None:
    assert set(PROTECTED) == set(SCOPES), "add new routes to SCOPES (or PUBLIC, with a reason)"


@pytest.mark.parametrize("route", PROTECTED, ids=route_id)
def test_missing_key_is_401(api: Api, route: tuple[str, str]) -> None:
    method, path = route
    response = api.request(method, concrete(path), scope=None)
    body = assert_problem(response, 401, "API key")
    assert body["title"] == "Unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer sy_thisIsNotAKeyThisServerGaveOut000000000000"},
        {"Authorization": "Bearer nonsense"},
        {"X-API-Key": "sy_thisIsNotAKeyThisServerGaveOut000000000000"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ],
    ids=["unknown-bearer", "not-a-siyu-key", "unknown-x-api-key", "basic-auth"],
)
@pytest.mark.parametrize("route", PROTECTED, ids=route_id)
def test_wrong_key_is_401(api: Api, route: tuple[str, str], headers: dict[str, str]) -> None:
    method, path = route
    response = api.request(method, concrete(path), scope=None, headers=headers)
    assert_problem(response, 401)


def test_key_with_a_wrong_secret_but_a_real_prefix_is_401(api: Api) -> None:
    # Only the prefix is looked up; the rest must still match the stored hash.
    real = api.keys.read
    forged = real[:11] + ("A" if real[11] != "A" else "B") + real[12:]
    response = api.get(
        "/api/v1/contacts", scope=None, headers={"Authorization": f"Bearer {forged}"}
    )
    assert_problem(response, 401, "unknown or revoked")
    assert api.get("/api/v1/contacts", scope="read").status_code == 200


@pytest.mark.parametrize("route", PROTECTED, ids=route_id)
def test_revoked_key_is_401(api: Api, session: Session, route: tuple[str, str]) -> None:
    api.ok("DELETE", f"/api/v1/api-keys/{api.keys.ids['write']}")
    method, path = route
    response = api.request(method, concrete(path), scope="write")
    assert_problem(response, 401, "revoked")


WEAKER = {"read": [], "write": ["read"], "admin": ["read", "write"]}
UNDER_SCOPED = [
    (route, scope) for route in PROTECTED for scope in WEAKER[SCOPES.get(route, "admin")]
]


@pytest.mark.parametrize(
    ("route", "scope"), UNDER_SCOPED, ids=[f"{route_id(r)} as {s}" for r, s in UNDER_SCOPED]
)
def test_key_without_the_scope_is_403(api: Api, route: tuple[str, str], scope: str) -> None:
    method, path = route
    needed = SCOPES[route]
    response = api.request(method, concrete(path), scope=scope)
    assert_problem(response, 403, needed)


@pytest.mark.parametrize("route", PROTECTED, ids=route_id)
def test_a_key_with_the_scope_gets_past_auth(api: Api, route: tuple[str, str]) -> None:
    # With the right key the same sample request reaches the handler: no 401/403 (404 is fine).
    method, path = route
    response = api.request(method, concrete(path), scope=SCOPES[route])
    assert response.status_code not in (401, 403, 500), (response.status_code, response.text)


def test_health_is_public(api: Api) -> None:
    assert api.ok("GET", "/api/v1/health", scope=None)["status"] == "ok"


def test_openapi_and_docs_are_served(api: Api) -> None:
    spec = api.ok("GET", "/api/openapi.json", scope=None)
    assert spec["info"]["title"] == "Siyu"
    documented = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    assert set(SCOPES) <= documented
    docs = api.get("/api/docs", scope=None)
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]
    assert "/api/openapi.json" in docs.text


def test_key_use_is_recorded_and_changes_are_audited_as_the_key(api: Api, session: Session) -> None:
    created = api.ok(
        "POST", "/api/v1/contacts", 201, json={"identities": ["email:a@example.com"]}, scope="write"
    )
    events = session.execute(
        select(AuditEvent).where(
            AuditEvent.action == "contact.create", AuditEvent.subject_id == str(created["id"])
        )
    ).scalars()
    assert [e.actor for e in events] == [f"apikey:{api.keys.ids['write']}"]
    listed = {k["id"]: k for k in api.ok("GET", "/api/v1/api-keys")}
    assert listed[api.keys.ids["write"]]["last_used_at"] is not None
    assert listed[api.keys.ids["read"]]["last_used_at"] is None


def test_scopes_are_ranked(api: Api) -> None:
    # A write key may read what it wrote; an admin key may do anything; a read key only reads.
    created = api.ok("POST", "/api/v1/contacts", 201, json={}, scope="write")
    assert api.ok("GET", f"/api/v1/contacts/{created['id']}", scope="write")["id"] == created["id"]
    api.ok(
        "POST", f"/api/v1/contacts/{created['id']}/notes", 201, json={"body": "x"}, scope="admin"
    )
    assert_problem(api.post("/api/v1/contacts", json={}, scope="read"), 403, "write")
