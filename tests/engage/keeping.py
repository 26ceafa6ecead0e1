"""A channel that keeps what it is given, for testing the rules and the dispatcher without a
mail server; the real channels are tested against real servers in tests/engage/channels."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from pydantic import Field

from siyu.contacts import service as contacts_service
from siyu.contacts.consent import record_consent
from siyu.db.session import unit_of_work
from siyu.engage import channel_service
from siyu.engage.channels import registry
from siyu.engage.channels.base import Capabilities, Channel, ChannelConfig, Delivery, Outgoing
from siyu.kit.actor import Actor

# 10:00 in Shanghai: outside the default quiet hours (21:00-09:00).
DAYTIME = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)


class KeepingConfig(ChannelConfig):
    refuse: list[str] = Field(default_factory=list)  # answered as a hard bounce
    busy: list[str] = Field(default_factory=list)  # answered "try again later"


class Keeping(Channel):
    kind = "keeping"
    label = "Keeping (tests)"
    Config = KeepingConfig
    capabilities = Capabilities(
        address_kind="email", consent_channel="email", subject=True, unsubscribe_link=True
    )
    kept: ClassVar[list[Outgoing]] = []
    opened: ClassVar[int] = 0

    def open(self) -> None:
        Keeping.opened += 1

    def send(self, message: Outgoing) -> Delivery:
        config: Any = self.config
        if message.address in config.refuse:
            return Delivery("failed", reason="550 5.1.1 no such mailbox", bad_address=True)
        if message.address in config.busy:
            return Delivery("retry", reason="451 4.7.1 try again later")
        Keeping.kept.append(message)
        return Delivery("sent", provider_id=f"<{message.key}>")


@pytest.fixture
def keeping(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Keeping]]:
    known = dict(registry.channels())
    monkeypatch.setattr(registry, "channels", lambda: {**known, "keeping": Keeping})
    Keeping.kept = []
    Keeping.opened = 0
    yield Keeping


def add_channel(config: dict[str, Any] | None = None, name: str = "keeping") -> int:
    with unit_of_work() as session:
        return channel_service.add_channel(
            session, actor=Actor.cli(), kind="keeping", name=name, config=config or {}
        ).id


def add_people(count: int, *, consent: bool = True, **traits: Any) -> list[int]:
    ids = []
    with unit_of_work() as session:
        for number in range(count):
            contact = contacts_service.create_contact(
                session,
                actor=Actor.cli(),
                identities=[f"email:p{number}-{id(traits)}@example.com"],
                name=f"顾客{number}",
                traits=dict(traits),
            )
            if consent:
                record_consent(
                    session, contact_id=contact.id, channel="email", granted=True, source="test"
                )
            ids.append(contact.id)
    return ids
