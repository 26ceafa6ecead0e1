"""API keys: created with scopes, the secret shown once, listed without it, revoked for good."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audit.models import AuditEvent
from siyu.staff.models import ApiKey
from tests.api.conftest import Api, assert_problem


def test_create_shows_the_secret_once(api: Api, session: Session) -> None:
    created = api.ok("POST", "/api/v1/api-keys", 201, json={"name": "BI 导出", "scopes": ["read"]})
    secret = created["key"]
    assert secret.startswith(created["prefix"])
    assert created["scopes"] == ["read"]
    assert created["name"] == "BI 导出"
    assert created["revoked_at"] is None
    # Only a hash is stored, and the list never shows the secret again.
    stored = session.get_one(ApiKey, created["id"])
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in stored.secret_hash
    listed = api.get("/api/v1/api-keys")
    assert listed.status_code == 200
    assert secret not in listed.text
    assert stored.secret_hash not in listed.text
    (entry,) = [k for k in listed.json() if k["id"] == created["id"]]
    assert "key" not in entry
    assert entry["prefix"] == created["prefix"]
    # The new key works, within its scope.
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.ok("GET", "/api/v1/contacts", scope=None, headers=headers)["items"] == []
    response = api.post("/api/v1/contacts", json={}, scope=None, headers=headers)
    assert_problem(response, 403, "write")


def test_scopes_are_kept_in_a_fixed_order_without_duplicates(api: Api) -> None:
    created = api.ok(
        "POST", "/api/v1/api-keys", 201, json={"name": "k", "scopes": ["write", "read", "write"]}
    )
    assert created["scopes"] == ["read", "write"]


def test_default_scope_is_read(api: Api) -> None:
    assert api.ok("POST", "/api/v1/api-keys", 201, json={"name": "k"})["scopes"] == ["read"]


def test_revoke_stops_the_key(api: Api, session: Session) -> None:
    created = api.ok("POST", "/api/v1/api-keys", 201, json={"name": "tmp", "scopes": ["write"]})
    headers = {"Authorization": f"Bearer {created['key']}"}
    assert api.get("/api/v1/contacts", scope=None, headers=headers).status_code == 200
    revoked = api.ok("DELETE", f"/api/v1/api-keys/{created['id']}")
    assert revoked["revoked_at"] is not None
    assert_problem(api.get("/api/v1/contacts", scope=None, headers=headers), 401, "revoked")
    # Revoking again changes nothing; by prefix works too.
    again = api.ok("DELETE", f"/api/v1/api-keys/{created['prefix']}")
    assert again["revoked_at"] == revoked["revoked_at"]
    listed = {k["id"]: k for k in api.ok("GET", "/api/v1/api-keys")}
    assert listed[created["id"]]["revoked_at"] == revoked["revoked_at"]
    admin = f"apikey:{api.keys.ids['admin']}"
    actions = session.execute(
        select(AuditEvent.action, AuditEvent.actor)
        .where(AuditEvent.subject_type == "api_key", AuditEvent.subject_id == str(created["id"]))
        .order_by(AuditEvent.id)
    ).all()
    assert [tuple(a) for a in actions] == [("apikey.create", admin), ("apikey.revoke", admin)]


def test_keys_made_over_the_api_belong_to_the_creating_keys_staff(
    api: Api, session: Session
) -> None:
    created = api.ok("POST", "/api/v1/api-keys", 201, json={"name": "k"})
    assert session.get_one(ApiKey, created["id"]).created_by_id == api.keys.owner.id


def test_an_admin_key_can_revoke_itself(api: Api) -> None:
    api.ok("DELETE", f"/api/v1/api-keys/{api.keys.ids['admin']}")
    assert_problem(api.get("/api/v1/api-keys"), 401)
    assert api.get("/api/v1/contacts", scope="read").status_code == 200
