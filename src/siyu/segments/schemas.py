"""API shapes for segments."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from siyu.api.schemas import Body

QUERY_HELP = 'The query as text, e.g. `tag("VIP") and total_spent >= ¥500`'
DEFINITION_HELP = "The same query as JSON (the form the console builder edits); give one of the two"


class QueryIn(Body):
    query: str | None = Field(default=None, max_length=10_000, description=QUERY_HELP)
    definition: dict[str, Any] | None = Field(default=None, description=DEFINITION_HELP)
    sample: int = Field(default=0, ge=0, le=50, description="Also return this many members")


class ConvertIn(Body):
    query: str | None = Field(default=None, max_length=10_000, description=QUERY_HELP)
    definition: dict[str, Any] | None = Field(default=None, description=DEFINITION_HELP)


class SegmentCreate(Body):
    name: str = Field(max_length=120)
    kind: Literal["dynamic", "static"] = "dynamic"
    query: str | None = Field(default=None, max_length=10_000, description=QUERY_HELP)
    definition: dict[str, Any] | None = Field(default=None, description=DEFINITION_HELP)
    description: str = Field(default="", max_length=2000)
    tag: str | None = Field(default=None, description="Members carry this tag while they are in")
    members: list[str] | None = Field(
        default=None, max_length=100_000, description="A static list's contacts: ids or kind:value"
    )


class SegmentUpdate(Body):
    name: str | None = Field(default=None, max_length=120)
    query: str | None = Field(default=None, max_length=10_000, description=QUERY_HELP)
    definition: dict[str, Any] | None = Field(default=None, description=DEFINITION_HELP)
    description: str | None = Field(default=None, max_length=2000)
    tag: str | None = None


class MembersChange(Body):
    add: list[str] = Field(default_factory=list, max_length=100_000)
    remove: list[str] = Field(default_factory=list, max_length=100_000)
