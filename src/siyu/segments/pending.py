"""Marking contacts whose data changed, for the worker to re-evaluate against every segment.

Called by the writers of what segments read (orders through the rollups, tags, consent,
identities, merges, profile fields, events) in the same transaction as the change, so a change
is never missed and never reported before it is committed. One set-based statement a call.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import exists, select, text
from sqlalchemy.orm import Session

from siyu.db.bulk import utc_text
from siyu.db.types import utcnow
from siyu.kit.chunks import chunked
from siyu.segments.models import Segment

_MARK = {
    "sqlite": """
        INSERT INTO segment_pending_contact (contact_id, changed_at)
        SELECT value, :now FROM json_each(:ids) WHERE true
        ON CONFLICT (contact_id) DO UPDATE SET changed_at = excluded.changed_at
    """,
    "postgresql": """
        INSERT INTO segment_pending_contact (contact_id, changed_at)
        SELECT unnest(CAST(:ids AS bigint[])), :now
        ON CONFLICT (contact_id) DO UPDATE SET changed_at = excluded.changed_at
    """,
}


def any_dynamic_segment(session: Session) -> bool:
    return bool(session.scalar(select(exists().where(Segment.kind == "dynamic"))))


def mark(session: Session, contact_ids: Iterable[int | None]) -> None:
    """These contacts changed; their segment memberships are looked at again shortly."""
    ids = sorted({int(i) for i in contact_ids if i is not None})
    # Without a dynamic segment there is nothing to keep current: a segment made later fills
    # itself from the whole pool.
    if not ids or not any_dynamic_segment(session):
        return
    dialect = session.get_bind().dialect.name
    statement = text(_MARK[dialect])
    # The time as the column stores it (SQLite keeps naive UTC text).
    now = utcnow()
    stamp = utc_text(now) if dialect == "sqlite" else now
    for batch in chunked(ids, 50_000):
        values = batch if dialect == "postgresql" else json.dumps(batch)
        session.execute(statement, {"ids": values, "now": stamp})
