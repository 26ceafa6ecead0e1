"""Channels register through the `siyu.channels` entry point group; built-ins use it too."""

from __future__ import annotations

import logging
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

from pydantic import ValidationError

from siyu.engage.channels.base import Channel, ChannelConfig
from siyu.errors import Invalid

log = logging.getLogger(__name__)


@lru_cache
def channels() -> dict[str, type[Channel]]:
    found: dict[str, type[Channel]] = {}
    for entry in entry_points(group="siyu.channels"):
        try:
            cls = entry.load()
        except (ImportError, AttributeError) as error:
            # One broken plugin must not stop every other channel.
            log.warning("channel %s cannot be loaded: %s", entry.name, error)
            continue
        found[cls.kind] = cls
    return found


def channel_class(kind: str) -> type[Channel]:
    found = channels().get(kind)
    if found is None:
        raise Invalid(f"unknown channel kind {kind!r}; known: {', '.join(sorted(channels()))}")
    return found


def parse_config(kind: str, config: dict[str, Any]) -> ChannelConfig:
    """A channel's configuration, checked against its schema; errors name the field."""
    cls = channel_class(kind)
    try:
        return cls.Config.model_validate(config)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in error.errors()
        )
        raise Invalid(f"{kind} channel configuration: {problems}") from None


def build(kind: str, config: dict[str, Any]) -> Channel:
    return channel_class(kind)(parse_config(kind, config))
