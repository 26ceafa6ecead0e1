"""REST routes for API keys (admin scope)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from siyu.api.deps import Admin, DbSession
from siyu.api.schemas import Body
from siyu.kit.timeutil import isoformat
from siyu.staff import service
from siyu.staff.models import ApiKey

router = APIRouter(tags=["api keys"])


class KeyIn(Body):
    name: str = Field(min_length=1, max_length=120)
    scopes: list[str] = Field(default_factory=lambda: ["read"])


def key_dict(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "scopes": key.scope_list,
        "created_at": isoformat(key.created_at),
        "last_used_at": isoformat(key.last_used_at),
        "revoked_at": isoformat(key.revoked_at),
    }


@router.get("/api-keys")
def list_keys(session: DbSession, _actor: Admin) -> list[dict[str, Any]]:
    return [key_dict(k) for k in service.list_api_keys(session)]


@router.post("/api-keys", status_code=201)
def create_key(body: KeyIn, session: DbSession, actor: Admin) -> dict[str, Any]:
    key, secret = service.create_api_key(session, name=body.name, scopes=body.scopes, actor=actor)
    return {**key_dict(key), "key": secret}


@router.delete("/api-keys/{key_id}")
def revoke_key(key_id: str, session: DbSession, actor: Admin) -> dict[str, Any]:
    return key_dict(service.revoke_api_key(session, key_id_or_prefix=key_id, actor=actor))
