"""`/r/{token}`: the tracked links in messages. Public: the reader is not signed in."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from siyu.console.page import Anyone
from siyu.engage import clicks
from siyu.errors import NotFound

router = APIRouter()


@router.get("/r/{token}")
def follow(page: Anyone, request: Request, token: str) -> Response:
    try:
        url = clicks.follow(
            page.session, token=token, ip=request.client.host if request.client else None
        )
    except NotFound:
        return page.render("links/missing.html", status=404)
    # 302 and no-store: each click comes back through here and is counted.
    response = RedirectResponse(url, status_code=302)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
