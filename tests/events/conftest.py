"""Event API fixtures: a committed database with one source, the app, and a live server.

The /v1 endpoints run their own unit of work (one transaction a request, committed), so these
tests use `database_url`, a migrated database of their own, instead of the rolled-back session.
"""

from __future__ import annotations

import base64
import gzip
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.api.app import create_app
from siyu.db.session import unit_of_work
from siyu.events import sources
from siyu.events.models import Event
from siyu.kit.actor import Actor


@dataclass
class Source:
    id: int
    key: str


def make_source(name: str = "官网") -> Source:
    with unit_of_work() as session:
        source, key = sources.create_source(session, name=name, actor=Actor.cli())
        return Source(source.id, key)


@pytest.fixture
def source(database_url: str) -> Source:
    return make_source()


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as test_client:
        yield test_client


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def send(
    client: TestClient | httpx.Client,
    kind: str,
    body: dict[str, Any],
    *,
    key: str | None = None,
    compress: bool = False,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST /v1/<kind> with the key as HTTP Basic user (the SDKs' way) unless told otherwise."""
    data = json.dumps(body, ensure_ascii=False).encode()
    all_headers = {"Content-Type": "application/json", **(basic(key) if key else {})}
    if compress:
        data = gzip.compress(data)
        all_headers["Content-Encoding"] = "gzip"
    all_headers.update(headers or {})
    return client.post(f"/v1/{kind}", content=data, headers=all_headers)


def events(**where: Any) -> list[Event]:
    with unit_of_work() as session:
        query = select(Event).order_by(Event.id)
        for key, value in where.items():
            query = query.where(getattr(Event, key) == value)
        return list(session.execute(query).scalars())


def in_session(work: Callable[[Session], Any]) -> Any:
    with unit_of_work() as session:
        return work(session)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveServer:
    """A real uvicorn serving `app` on a free loopback port, in a thread of this process."""

    def __init__(self, app: Any) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
