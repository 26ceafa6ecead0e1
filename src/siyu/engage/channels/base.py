"""The one interface every channel implements, built-in or plugin.

A channel is a class with a `kind`, a pydantic `Config` (its configuration schema, stored as
JSON in `engage_channel.config`), `capabilities`, and `send`. The dispatcher opens a channel once
for a run of messages (`with channel:` — an SMTP connection, an access token) and calls `send`
for each; `send` never raises for a provider's answer, it returns a `Delivery` saying what
happened, so one bad number cannot stop a campaign.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

# sent: the provider accepted it. failed: it never will (bad address, template refused).
# retry: a transient error (rate limit, timeout, 4xx SMTP); the dispatcher tries again later.
DeliveryStatus = Literal["sent", "failed", "retry"]


# What a field naming an environment variable (`password_env`, `secret_env`) may hold.
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class ChannelConfig(BaseModel):
    """Base of every channel's configuration. Secrets are given as the name of an environment
    variable (fields ending in `_env`), so neither the database nor an export holds them."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Capabilities:
    # The contact identity kind a message is addressed to (None: the contact itself, webhook).
    address_kind: str | None
    # The consent channel a marketing message needs (contacts.models.CONSENT_CHANNELS).
    consent_channel: str | None
    subject: bool = False  # messages have a subject line (email)
    # Provider-approved templates: the message is a template code plus parameters (SMS, OA).
    provider_templates: bool = False
    max_length: int | None = None  # characters a body may have, when the provider limits it
    unsubscribe_link: bool = False  # marketing bodies must carry an unsubscribe link


@dataclass
class Outgoing:
    """One rendered message, ready for a channel."""

    message_id: int
    key: str  # the idempotency key: stable across retries and restarts
    category: Literal["marketing", "transactional"]
    contact_id: int
    address: str | None  # email address, E.164 phone, openid, external userid; None: webhook
    body: str
    subject: str | None = None
    # SMS and OA: the provider's template code and its parameters, rendered per contact.
    template_code: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    unsubscribe_url: str | None = None  # email: List-Unsubscribe (one-click)
    extra: dict[str, Any] = field(default_factory=dict)  # contact data for webhooks


@dataclass
class Delivery:
    status: DeliveryStatus
    provider_id: str | None = None  # the provider's message / request id
    reason: str | None = None  # the provider's own code and message when not sent
    # The address itself is bad (hard bounce, number does not exist): suppress it from now on.
    bad_address: bool = False


class Channel:
    kind: ClassVar[str]
    label: ClassVar[str]
    Config: ClassVar[type[ChannelConfig]]
    # The kind's capabilities; an instance may narrow them from its configuration (a webhook
    # names the consent channel it needs), so read them from the instance when one is at hand.
    capabilities: Capabilities

    def __init__(self, config: ChannelConfig) -> None:
        self.config = config

    def open(self) -> None:
        """Connect (SMTP login, access token); called once before a run of sends.

        Must not raise for an unreachable provider or a missing secret either: the channel keeps
        the reason and each `send` answers `retry` with it, so the dispatcher has one path."""

    def close(self) -> None:
        """Release what `open` took; must not raise."""

    def __enter__(self) -> Channel:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, message: Outgoing) -> Delivery:
        raise NotImplementedError

    def check(self, message: Outgoing) -> list[str]:
        """Problems with a message before it is sent (too long, no subject); [] when fine."""
        return []
