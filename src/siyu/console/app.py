"""Mounting the console into the FastAPI app: sessions, static files, pages, error pages.

Pages are discovered: every module in siyu/console/views/ that defines `router` is included,
behind the CSRF check. A new page area is a new module there; no shared list to edit.
"""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from siyu.config import get_settings
from siyu.console import auth, errors, views
from siyu.console.secret import secret_key
from siyu.console.templating import STATIC_DIR, Templates

SESSION_COOKIE = "siyu_session"
SESSION_DAYS = 14


def routers() -> list[APIRouter]:
    found = []
    for module_info in sorted(pkgutil.iter_modules(views.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{views.__name__}.{module_info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            found.append(router)
    return found


def mount(app: FastAPI) -> None:
    settings = get_settings()
    app.state.console_templates = Templates()
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret_key(settings),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_DAYS * 24 * 3600,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    for router in routers():
        # Pages are not part of the API's OpenAPI document.
        app.include_router(
            router, dependencies=[Depends(auth.verify_csrf)], include_in_schema=False
        )
    errors.install(app)
