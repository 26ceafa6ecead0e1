"""Secrets handed out once (API keys, write keys): a recognisable prefix, a short lookup prefix
stored in the clear to find the row, and only a SHA-256 of the whole secret kept."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class KeyKind:
    prefix: str  # e.g. "sy_": tells at a glance what a leaked string is
    random_bytes: int = 32

    @property
    def lookup_length(self) -> int:
        return len(self.prefix) + 8

    def new(self) -> tuple[str, str, str]:
        """(secret to show once, lookup prefix to store, digest to store)."""
        secret = self.prefix + secrets.token_urlsafe(self.random_bytes)
        return secret, secret[: self.lookup_length], digest(secret)

    def lookup(self, secret: str) -> str | None:
        """The stored lookup prefix of a secret of this kind, or None when it is not one."""
        return secret[: self.lookup_length] if secret.startswith(self.prefix) else None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def matches(stored_digest: str, secret: str) -> bool:
    """Whether a secret is the one a stored digest was made from, in constant time."""
    return secrets.compare_digest(stored_digest, digest(secret))
