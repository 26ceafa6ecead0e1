"""GET and POST /api/v1/links: trackable links with their click counts and campaign totals."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import Field

from siyu.api.deps import DbSession, Reader, Writer
from siyu.api.schemas import Body
from siyu.ingest.inbound import links

router = APIRouter(tags=["links"])


class LinkIn(Body):
    name: str = Field(..., description="What the link is for, e.g. 双十一短信")
    target_url: str = Field(..., description="An absolute http(s) URL")
    campaign: str = Field("", description="Clicks are counted per campaign; utm_campaign's default")
    code: str | None = Field(None, description="The short code; a random one when left out")
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None


def _with_url(request: Request, data: dict[str, Any]) -> dict[str, Any]:
    return {**links.as_json(data), "url": str(request.base_url).rstrip("/") + data["path"]}


@router.get("/links")
def list_links(
    request: Request,
    session: DbSession,
    actor: Reader,
    campaign: str | None = Query(None, description="Only this campaign's links"),
) -> dict[str, Any]:
    """Every link with its clicks, newest first, and the click totals per campaign."""
    items = links.list_links(session, actor=actor, campaign=campaign)
    return {
        "items": [_with_url(request, item) for item in items],
        "campaigns": links.campaign_totals(session, actor=actor),
    }


@router.post("/links", status_code=201)
def create_link(
    request: Request, body: LinkIn, session: DbSession, actor: Writer
) -> dict[str, Any]:
    """A new short link; `url` is the address to share."""
    utm = {key: getattr(body, key) for key in links.UTM_KEYS}
    link = links.create_link(
        session,
        name=body.name,
        target_url=body.target_url,
        campaign=body.campaign,
        code=body.code,
        utm=utm,
        actor=actor,
    )
    return _with_url(request, links.link_dict(link, clicks=0))
