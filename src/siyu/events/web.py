"""Web tracking: the /t.js script merchants embed in their own site, and the CORS answers that
let it send from any site to /v1.

/v1 allows any origin, as Segment's API does: a write key is public by design (it sits in the
page) and can only send events, and the calls send no cookies, so there is nothing to protect
from other origins. CORS covers /v1 only; /api and the console stay same-origin.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request, Response

router = APIRouter(include_in_schema=False)

SCRIPT = Path(__file__).resolve().parents[1] / "console" / "static" / "t.js"
# The snippet's URL cannot carry a version, so browsers keep the script for an hour and then
# check it cheaply with the ETag.
SCRIPT_CACHE = "public, max-age=3600, stale-while-revalidate=86400"
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization, Content-Encoding",
    "Access-Control-Max-Age": "86400",
}


@cache
def _script() -> tuple[bytes, str]:
    body = SCRIPT.read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


def with_cors(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def preflight() -> Response:
    return Response(status_code=204, headers=CORS)


@router.get("/t.js")
def tracking_script(request: Request) -> Response:
    body, etag = _script()
    headers = {"ETag": etag, "Cache-Control": SCRIPT_CACHE, "X-Content-Type-Options": "nosniff"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)
