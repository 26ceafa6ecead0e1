"""Managing sources: `siyu source create|list|revoke`, /api/v1/sources, `contacts show`."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from siyu.cli.main import app
from siyu.db.session import unit_of_work
from siyu.kit.actor import Actor
from siyu.staff import service as staff_service
from tests.events.conftest import send

runner = CliRunner()


def siyu(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_source_commands(client: TestClient, database_url: str) -> None:
    code, out, _ = siyu("source", "create", "官网", "--json")
    assert code == 0
    created = json.loads(out)
    assert set(created) == {"id", "name", "write_key"}
    assert created["name"] == "官网" and created["write_key"].startswith("sywk_")
    key = created["write_key"]
    body = {"userId": "u9", "event": "Signed Up", "messageId": "s1"}
    assert send(client, "track", body, key=key).json() == {"success": True}

    code, out, _ = siyu("contacts", "show", "external_id:u9", "--json")
    assert code == 0
    profile = json.loads(out)
    assert profile["lifecycle_stage"] == "lead"
    (event,) = profile["events"]
    assert {k: event[k] for k in ("type", "name", "message_id")} == {
        "type": "track",
        "name": "Signed Up",
        "message_id": "s1",
    }
    assert event["timestamp"]

    code, out, _ = siyu("source", "list", "--json")
    (listed,) = json.loads(out)
    assert listed["id"] == created["id"] and "write_key" not in listed
    assert key not in out  # only the prefix is ever shown again
    assert siyu("source", "list")[0] == 0

    code, out, _ = siyu("source", "revoke", str(created["id"]))
    assert code == 0 and "revoked" in out
    assert send(client, "track", body, key=key).status_code == 401
    code, _, err = siyu("source", "revoke", "999999")
    assert code == 1 and "no event source" in err


def test_sources_api_is_for_admins(client: TestClient, database_url: str) -> None:
    with unit_of_work() as session:
        owner = staff_service.create_staff(
            session, login="admin2", name="Admin", role="admin", actor=Actor.system()
        )
        actor = Actor(f"staff:{owner.id}", staff_id=owner.id)
        keys = {
            scope: staff_service.create_api_key(session, name=scope, scopes=[scope], actor=actor)[1]
            for scope in ("write", "admin")
        }
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    response = client.post("/api/v1/sources", json={"name": "小程序"}, headers=admin)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["write_key"].startswith("sywk_")
    listed = client.get("/api/v1/sources", headers=admin).json()
    assert [s["name"] for s in listed] == ["小程序"]
    writer = {"Authorization": f"Bearer {keys['write']}"}
    assert client.get("/api/v1/sources", headers=writer).status_code == 403
    revoked = client.post(f"/api/v1/sources/{created['id']}/revoke", headers=admin).json()
    assert revoked["revoked_at"]
    call = {"userId": "u", "event": "e"}
    assert send(client, "track", call, key=created["write_key"]).status_code == 401
