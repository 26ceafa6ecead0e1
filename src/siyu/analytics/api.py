"""REST routes for reports."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from siyu.analytics.overview import overview
from siyu.api.deps import DbSession, Reader

router = APIRouter(tags=["reports"])


@router.get("/reports/overview", summary="The pool at a glance (the console's home figures)")
def get_overview(session: DbSession, actor: Reader) -> dict[str, Any]:
    return overview(session, actor=actor)
