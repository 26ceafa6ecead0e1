"""The contract other pages build on: a router in siyu.console.views, SignedIn, CSRF, macros,
the confirmation pattern and toasts. Shown here with a page made for the test."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI, Form, Response
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.console import auth
from siyu.console.app import routers
from siyu.console.page import SignedIn, toast
from siyu.errors import NotFound
from tests.api.conftest import make_app
from tests.console.conftest import Browser

router = APIRouter()


@pytest.fixture
def app(session: Session) -> FastAPI:
    """An app of this module's own: it adds a page of its own."""
    return make_app(session, fresh=True)


@router.post("/things/{name}/delete")
def delete_thing(page: SignedIn, name: str, confirmed: Annotated[str, Form()] = "") -> Response:
    if name == "missing":
        raise NotFound(f"no thing called {name}")
    if not confirmed:
        return page.confirm(f"Delete {name}?", action=f"/things/{name}/delete", cancel="/")
    response = page.redirect("/", flash=f"{name} deleted")
    return toast(response, f"{name} deleted") if page.is_htmx else response


def _with_test_page(app: FastAPI) -> None:
    # The same inclusion console/app.py does for every module in siyu.console.views.
    app.include_router(router, dependencies=[Depends(auth.verify_csrf)])


def test_view_modules_are_discovered() -> None:
    paths = {route.path for r in routers() for route in r.routes}  # type: ignore[attr-defined]
    assert {"/", "/login", "/logout", "/account/password", "/lang/{code}"} <= paths


def test_destructive_action_without_javascript_asks_first(signed_in: Browser, app: FastAPI) -> None:
    _with_test_page(app)
    asked = signed_in.post("/things/lamp/delete")
    assert asked.status_code == 200
    assert "请确认" in asked.text and "Delete lamp?" in asked.text
    assert 'name="confirmed" value="1"' in asked.text
    done = signed_in.post("/things/lamp/delete", {"confirmed": "1"})
    assert done.status_code == 303
    # The flash shows once, on the next page.
    assert "lamp deleted" in signed_in.get("/").text
    assert "lamp deleted" not in signed_in.get("/").text


def test_htmx_action_gets_a_toast_and_a_redirect(signed_in: Browser, app: FastAPI) -> None:
    _with_test_page(app)
    response = signed_in.client.post(
        "/things/lamp/delete",
        data={"confirmed": "1"},
        headers={"HX-Request": "true", "X-CSRF-Token": signed_in.csrf},
    )
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/"
    assert '"siyu:toast"' in response.headers["HX-Trigger"]


def test_service_errors_become_friendly_pages(signed_in: Browser, app: FastAPI) -> None:
    _with_test_page(app)
    response = signed_in.post("/things/missing/delete", {"confirmed": "1"})
    assert response.status_code == 404
    assert "no thing called missing" in response.text and "返回首页" in response.text


def test_csrf_is_checked_before_the_view_runs(signed_in: Browser, app: FastAPI) -> None:
    _with_test_page(app)
    response = signed_in.post("/things/lamp/delete", {"csrf_token": "", "confirmed": "1"})
    assert response.status_code == 403
    assert "lamp deleted" not in signed_in.get("/").text


def test_a_crash_is_a_friendly_500(app: FastAPI, client: TestClient) -> None:
    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("kaput")

    response = client.get("/boom", headers={"Accept-Language": "en"})
    assert response.status_code == 500
    assert "Something went wrong" in response.text and "kaput" not in response.text
