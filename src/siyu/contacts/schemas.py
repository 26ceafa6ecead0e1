"""API shapes for contacts and orders."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from siyu.api.schemas import Body


class Strict(Body):
    """A request body: unknown fields and NUL characters are refused with a 422."""


class ContactCreate(Strict):
    identities: list[str] = Field(
        default_factory=list, description="Identity references `kind:value`, e.g. phone:13800138000"
    )
    name: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=64)
    province: str | None = Field(default=None, max_length=64)
    owner: str | None = Field(default=None, description="A staff login")
    traits: dict[str, Any] | None = None
    tags: list[str] = Field(default_factory=list, description="`name` or `group:name`")


class ContactUpdate(Strict):
    name: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=64)
    province: str | None = Field(default=None, max_length=64)
    owner: str | None = Field(default=None, description="A staff login; null to unassign")
    traits: dict[str, Any] | None = Field(default=None, description="Merged into existing traits")


class IdentityIn(Strict):
    identity: str = Field(description="`kind:value`; if another contact holds it, the two merge")


class TagsIn(Strict):
    tags: list[str] = Field(min_length=1)


class NoteIn(Strict):
    body: str = Field(min_length=1, max_length=10000)


class ConsentIn(Strict):
    granted: bool
    purpose: str = Field(default="", max_length=200)
    source: str = Field(default="api", max_length=64)


class ConsentChangeIn(Strict):
    channel: str = Field(max_length=64, description="email, sms, wecom or wechat_oa")
    granted: bool = Field(description="true grants, false withdraws")
    purpose: str = Field(default="", max_length=200, description="What the contact agreed to")


class PageOut(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None
