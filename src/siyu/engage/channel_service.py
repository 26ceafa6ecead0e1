"""Configured channels: add, change, list, and build the plugin that sends for one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audit import service as audit
from siyu.engage.channels import registry
from siyu.engage.channels.base import Channel
from siyu.engage.models import EngageChannel
from siyu.errors import Conflict, Invalid, NotFound
from siyu.kit.actor import Actor
from siyu.staff.permissions import allow


def add_channel(
    session: Session, *, actor: Actor, kind: str, name: str | None, config: dict[str, Any]
) -> EngageChannel:
    allow(actor, "reach")
    checked = registry.parse_config(kind, config)
    name = (name or kind).strip()
    if not name or len(name) > 120:
        raise Invalid("a channel's name is 1 to 120 characters")
    if session.scalar(select(EngageChannel.id).where(EngageChannel.name == name)):
        raise Conflict(f"a channel named {name!r} exists already; give another --name")
    channel = EngageChannel(
        name=name, kind=kind, config=checked.model_dump(mode="json"), created_by=actor.label
    )
    session.add(channel)
    session.flush()
    audit.record(
        session,
        actor=actor.label,
        action="channel.add",
        subject_type="channel",
        subject_id=channel.id,
        kind=kind,
        name=name,
    )
    return channel


def update_channel(
    session: Session,
    *,
    actor: Actor,
    channel: EngageChannel,
    config: dict[str, Any] | None = None,
    enabled: bool | None = None,
) -> EngageChannel:
    allow(actor, "reach")
    if config is not None:
        channel.config = registry.parse_config(channel.kind, config).model_dump(mode="json")
    if enabled is not None:
        channel.enabled = enabled
    session.flush()
    audit.record(
        session,
        actor=actor.label,
        action="channel.update",
        subject_type="channel",
        subject_id=channel.id,
        enabled=channel.enabled,
    )
    return channel


def get_channel(session: Session, ref: str | int) -> EngageChannel:
    text = str(ref).strip()
    if text.isdigit():
        found = session.get(EngageChannel, int(text))
    else:
        found = session.scalar(select(EngageChannel).where(EngageChannel.name == text))
        if found is None:  # a kind names its channel when there is exactly one of it
            of_kind = session.scalars(select(EngageChannel).where(EngageChannel.kind == text))
            matches = list(of_kind)
            if len(matches) > 1:
                raise Invalid(f"there are {len(matches)} {text} channels; name one of them")
            found = matches[0] if matches else None
    if found is None:
        raise NotFound(f"no channel {text!r}; `siyu channel list` shows them")
    return found


def list_channels(session: Session) -> list[EngageChannel]:
    return list(session.scalars(select(EngageChannel).order_by(EngageChannel.id)))


def plugin(channel: EngageChannel) -> Channel:
    return registry.build(channel.kind, channel.config)


def channel_dict(channel: EngageChannel) -> dict[str, Any]:
    cls = registry.channels().get(channel.kind)
    return {
        "id": channel.id,
        "name": channel.name,
        "kind": channel.kind,
        "label": cls.label if cls else channel.kind,
        "enabled": channel.enabled,
        # Secrets are never stored (only the names of the variables holding them).
        "config": channel.config,
        "created_at": channel.created_at.isoformat() if channel.created_at else None,
    }
