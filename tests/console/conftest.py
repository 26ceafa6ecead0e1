"""Console test fixtures: the real app over the test database, staff of each role, a browser-like
client that signs in through the login form and sends the page's CSRF token."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.kit.actor import Actor
from siyu.staff import service as staff_service
from siyu.staff.models import StaffUser
from tests.api.conftest import make_app

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A TestClient that keeps cookies like a browser and fills in CSRF tokens from pages."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        response = self.client.get(url, **kwargs)
        if match := _CSRF.search(response.text):
            self.csrf = match.group(1)
        return response

    def post(self, url: str, data: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        """A form post with the last page's token (pass csrf_token yourself to override it)."""
        form = {"csrf_token": self.csrf, **(data or {})}
        kwargs.setdefault("follow_redirects", False)
        return self.client.post(url, data=form, **kwargs)

    def sign_in(self, identifier: str, password: str = PASSWORD, next: str = "/") -> httpx.Response:
        self.get("/login")
        return self.post("/login", {"identifier": identifier, "password": password, "next": next})


@pytest.fixture
def app(session: Session) -> FastAPI:
    return make_app(session)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def client_factory(app: FastAPI) -> Iterator[Callable[[], TestClient]]:
    """More clients of the same app: other browsers, with cookies of their own."""
    clients: list[TestClient] = []

    def make() -> TestClient:
        client = TestClient(app, raise_server_exceptions=False)
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def browser(client: TestClient) -> Browser:
    return Browser(client)


def make_staff(session: Session, login: str, role: str, **values: Any) -> StaffUser:
    staff = staff_service.create_staff(
        session, login=login, role=role, password=PASSWORD, actor=Actor.system(), **values
    )
    session.flush()
    return staff


@pytest.fixture
def admin(session: Session) -> StaffUser:
    return make_staff(
        session, "li.na", "admin", name="李娜", email="li.na@example.com", phone="13900139000"
    )


@pytest.fixture
def signed_in(browser: Browser, admin: StaffUser) -> Browser:
    response = browser.sign_in("li.na")
    assert response.status_code == 303, response.text
    browser.get("/")  # the token changes at sign-in: take the new one
    return browser
