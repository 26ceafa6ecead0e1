"""Unsubscribing: the link in a message (/u/{token}) and anything else that withdraws consent
on a customer's word, such as an SMS reply.

A message's channel decides which consent is withdrawn (`consent_channel_for_kind`); the
withdrawal takes effect at once, goes into the consent ledger and the audit log, and a repeat
changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.contacts import consent
from siyu.contacts.models import CONSENT_CHANNELS, Contact, ContactAlias
from siyu.engage.channels.registry import channels
from siyu.engage.models import EngageChannel, EngageMessage
from siyu.engage.tokens import message_from_unsubscribe
from siyu.errors import NotFound
from siyu.kit.actor import Actor

log = logging.getLogger(__name__)

# Channel kinds and the consent each needs. SMS has a kind per provider.
_KIND_CONSENT = {
    "email": "email",
    "sms": "sms",
    "aliyun_sms": "sms",
    "tencent_sms": "sms",
    "wecom": "wecom",
    "wechat_oa": "wechat_oa",
}


def consent_channel_for_kind(kind: str, config: dict[str, Any] | None = None) -> str | None:
    """The consent channel (contacts.models.CONSENT_CHANNELS) a channel of this kind needs.

    A webhook reaches whatever the merchant wired it to, so its configuration names the consent
    (`consent_channel`); a plugin kind says so in its capabilities. None: no consent applies.
    """
    if kind in _KIND_CONSENT:
        return _KIND_CONSENT[kind]
    if kind == "webhook":
        named = (config or {}).get("consent_channel")
        return named if named in CONSENT_CHANNELS else None
    plugin = channels().get(kind)
    named = plugin.capabilities.consent_channel if plugin is not None else None
    return named if named in CONSENT_CHANNELS else None


def withdraw(
    session: Session,
    *,
    contact_id: int,
    channel: str,
    source: str = "unsubscribe",
    ip: str | None = None,
    purpose: str = "",
) -> bool:
    """Withdraw one channel's consent on the customer's own word: no staff role is needed.
    Follows merges (an absorbed id withdraws on its survivor). Returns whether it changed."""
    # Asked of the database, not the session's identity map: a merge earlier in this
    # transaction deletes the absorbed row with a plain DELETE.
    live = session.execute(select(Contact.id).where(Contact.id == contact_id)).scalar()
    if live is None:
        live = session.execute(
            select(ContactAlias.contact_id).where(ContactAlias.old_id == contact_id)
        ).scalar()
    if live is None:
        raise NotFound(f"no contact with id {contact_id}")
    contact = session.get_one(Contact, live)
    return consent.change_consent(
        session,
        contact=contact,
        channel=channel,
        granted=False,
        actor=Actor.system(),
        source=source,
        purpose=purpose,
        ip=ip,
    )


@dataclass(frozen=True)
class Unsubscribed:
    contact_id: int
    channel: str | None  # None: the message's channel needs no consent, nothing was withdrawn
    changed: bool


def message_for_token(session: Session, token: str) -> EngageMessage:
    """The message an unsubscribe token names; NotFound for a forged, altered or stale one."""
    message_id = message_from_unsubscribe(token)
    message = session.get(EngageMessage, message_id) if message_id is not None else None
    if message is None:
        raise NotFound("this unsubscribe link is not valid")
    return message


def consent_channel_of(session: Session, message: EngageMessage) -> str | None:
    channel = session.get_one(EngageChannel, message.channel_id)
    return consent_channel_for_kind(channel.kind, channel.config)


def unsubscribe(session: Session, *, token: str, ip: str | None = None) -> Unsubscribed:
    """Withdraw the consent the message's channel needs, for the contact it was sent to."""
    message = message_for_token(session, token)
    channel = consent_channel_of(session, message)
    if channel is None:
        log.warning("unsubscribe from message %s: its channel needs no consent", message.id)
        return Unsubscribed(message.contact_id, None, False)
    changed = withdraw(session, contact_id=message.contact_id, channel=channel, ip=ip)
    return Unsubscribed(message.contact_id, channel, changed)
