"""API test fixtures: the real app over the test database, API keys of each scope, helpers.

Most tests share the transactional `session` of tests/conftest.py. The app's unit of work is
overridden to run each request in a savepoint of that session: released when the handler
returns, rolled back when it raises, as the real `get_session` commits or rolls back. It must not
call session.commit(): on SQLite, pysqlite never emits the fixture's BEGIN, so the session's own
savepoint is the outermost transaction and releasing it would really commit, leaking rows into
later tests.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.api.app import create_app
from siyu.api.deps import get_session
from siyu.api.problems import MEDIA_TYPE
from siyu.config import get_settings
from siyu.ingest.service import import_file
from siyu.kit.actor import Actor
from siyu.staff import service as staff_service
from siyu.staff.models import StaffUser

ORDER_HEADER = [
    "order_id",
    "platform",
    "placed_at",
    "status",
    "total",
    "currency",
    "customer",
    "name",
    "phone",
    "email",
    "items",
]


@dataclass
class Keys:
    """Secrets and ids of one API key per scope, all created by the staff member `owner`."""

    read: str
    write: str
    admin: str
    ids: dict[str, int]
    owner: StaffUser

    def headers(self, scope: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {getattr(self, scope)}"} if scope else {}


class Api:
    """A TestClient that authenticates with a given scope's key and checks problem bodies."""

    def __init__(self, client: TestClient, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    def request(
        self, method: str, url: str, *, scope: str | None = "admin", **kwargs: Any
    ) -> httpx.Response:
        headers = {**self.keys.headers(scope), **kwargs.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kwargs)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def ok(self, method: str, url: str, status: int = 200, **kwargs: Any) -> Any:
        """The JSON body of a request that must answer `status`."""
        response = self.request(method, url, **kwargs)
        assert response.status_code == status, (response.status_code, response.text)
        return response.json() if response.content else None


def assert_problem(response: httpx.Response, status: int, *needles: str) -> dict[str, Any]:
    """An RFC 9457 problem with `status` whose detail mentions every needle (case-insensitive)."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(MEDIA_TYPE), response.headers
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    for needle in needles:
        assert needle.lower() in body["detail"].lower(), (needle, body["detail"])
    return body


# Apps already built, by the settings they were built with: building one (every route's
# dependencies analysed, every console view included) costs a third of a second, which a
# fresh app per test turned into minutes. Tests that change their app ask for a fresh one.
_APPS: dict[str, FastAPI] = {}


def make_app(session: Session, *, fresh: bool = False) -> FastAPI:
    key = get_settings().model_dump_json()
    app = create_app() if fresh else _APPS.get(key) or _APPS.setdefault(key, create_app())

    def test_session() -> Iterator[Session]:
        savepoint = session.begin_nested()
        try:
            yield session
        except BaseException:
            savepoint.rollback()
            raise
        savepoint.commit()

    app.dependency_overrides[get_session] = test_session
    return app


@pytest.fixture
def app(session: Session) -> FastAPI:
    return make_app(session)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    # Server errors come back as responses, so a test can say "never a 500" and show the body.
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def create_keys(session: Session) -> Keys:
    owner = staff_service.create_staff(
        session, login="li.na", name="李娜", role="admin", actor=Actor.system()
    )
    actor = Actor(f"staff:{owner.id}", staff_id=owner.id)
    secrets: dict[str, str] = {}
    ids: dict[str, int] = {}
    for scope in ("read", "write", "admin"):
        key, secret = staff_service.create_api_key(
            session, name=f"{scope} key", scopes=[scope], actor=actor
        )
        secrets[scope], ids[scope] = secret, key.id
    session.flush()
    return Keys(**secrets, ids=ids, owner=owner)


@pytest.fixture
def keys(session: Session) -> Keys:
    return create_keys(session)


@pytest.fixture
def api(client: TestClient, keys: Keys) -> Api:
    return Api(client, keys)


def write_orders_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    """Siyu's canonical order CSV (UTF-8 with BOM, as Excel on Windows saves it)."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=ORDER_HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def order_row(order_id: str, customer: str, **values: str) -> dict[str, str]:
    row = {
        "order_id": order_id,
        "platform": "taobao",
        "placed_at": "2024-03-01 10:00:00",
        "status": "completed",
        "total": "100.00",
        "currency": "CNY",
        "customer": customer,
        "name": "",
        "phone": "",
        "email": "",
        "items": "",
    }
    return {**row, **values}


@pytest.fixture
def orders(session: Session, tmp_path: Path) -> dict[str, Any]:
    """Three orders of two customers imported through the canonical CSV importer."""
    path = write_orders_csv(
        tmp_path / "orders.csv",
        [
            order_row(
                "T1001",
                "taobao_nick:小王",
                name="王小明",
                phone="13800138000",
                placed_at="2024-03-01 10:00:00",
                total="129.00",
                items="玫瑰精华 ×2 @49.50 | 小样 ×1 @30.00",
            ),
            order_row(
                "T1002",
                "taobao_nick:小王",
                placed_at="2024-04-02 20:30:00",
                total="59.90",
                items="面膜 ×1 @59.90",
            ),
            order_row(
                "J2001",
                "jd_pin:zhang_san",
                platform="jd",
                name="张三",
                email="Zhang@Example.com",
                placed_at="2024-02-10 09:00:00",
                total="1299.00",
                items="电动牙刷 ×1 @1299.00",
            ),
        ],
    )
    summary = import_file(session, path)
    assert summary.rows_rejected == 0, summary.errors
    assert summary.orders_created == 3
    return summary.as_dict()
