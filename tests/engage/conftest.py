"""Reach test fixtures: the real app over the test database, channels of each kind, a message."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.contacts import service as contacts_service
from siyu.contacts.models import Contact
from siyu.engage.messages import create_message
from siyu.engage.models import EngageChannel, EngageContent, EngageMessage
from siyu.kit.actor import Actor
from tests.api.conftest import make_app
from tests.engage.keeping import keeping

__all__ = ["keeping"]  # the channel that keeps what it is given (tests/engage/keeping.py)

# A client address like a customer's phone on a mobile network; the ledger keeps its /24.
CUSTOMER_IP = "203.0.113.77"


@pytest.fixture
def app(session: Session) -> FastAPI:
    return make_app(session)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    # No cookies, no CSRF token, as a mailbox provider's one-click POST arrives.
    with TestClient(app, raise_server_exceptions=False, client=(CUSTOMER_IP, 40000)) as test:
        yield test


@pytest.fixture
def customer(session: Session) -> Contact:
    contact = contacts_service.create_contact(
        session,
        actor=Actor.system(),
        identities=["phone:13800138000", "email:lin@example.com"],
        name="林一",
    )
    session.flush()
    return contact


@pytest.fixture
def send(session: Session) -> Callable[..., EngageMessage]:
    """A sent message to a contact on a new channel of `kind`."""
    counter = iter(range(1, 10_000))

    def make(contact: Contact, kind: str, config: dict[str, Any] | None = None) -> EngageMessage:
        n = next(counter)
        channel = EngageChannel(name=f"{kind} {n}", kind=kind, config=config or {})
        session.add(channel)
        session.flush()
        content = EngageContent(body="新品上市，回复TD退订")
        session.add(content)
        session.flush()
        message = create_message(
            session,
            key=f"test:{n}:{contact.id}",
            contact_id=contact.id,
            channel_id=channel.id,
            content_id=content.id,
        )
        assert message is not None
        message.state = "sent"
        session.flush()
        return message

    return make
