"""A small pool of buyers with varied, seeded purchase histories for the service tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy.orm import Session

from siyu.contacts import rollups
from tests.analytics.test_rfm import contact, order

START = datetime(2025, 1, 1, 4, 0, tzinfo=UTC)  # noon in Shanghai


def buyers(session: Session, count: int = 60, seed: int = 3) -> list[int]:
    """`count` buyers over 2025 (first purchases in the first quarter), each with 0–8 repeat
    purchase days at random gaps; every third buyer buys only once."""
    rng = np.random.default_rng(seed)
    ids = []
    for n in range(count):
        person = contact(session, f"clv{n}")
        day = START + timedelta(days=int(rng.integers(0, 90)))
        repeats = 0 if n % 3 == 0 else int(rng.integers(1, 9))
        for _ in range(repeats + 1):
            order(session, person, day, int(rng.integers(50, 500)) * 100)
            day += timedelta(days=int(rng.integers(3, 40)))
        ids.append(person.id)
    session.flush()
    rollups.recompute(session, ids)
    return ids
