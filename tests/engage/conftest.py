"""Reach fixtures: the keeping channel (tests/engage/keeping.py)."""

from tests.engage.keeping import keeping

__all__ = ["keeping"]
