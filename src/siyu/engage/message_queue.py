"""The message table as a queue: which messages may go now, each contact's cap lock and
recent sends, outcomes written in bulk, finished campaigns, and a dead worker's messages.
The dispatcher (dispatch.py) decides; this is the SQL it runs."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from siyu.db.sql import one_of
from siyu.engage.models import (
    CAPPED_STATES,
    EngageCampaign,
    EngageChannel,
    EngageMessage,
    EngageSuppression,
)
from siyu.kit.chunks import chunked
from siyu.worker import liveness

log = logging.getLogger(__name__)

# pg_advisory_xact_lock namespace for a contact's frequency cap ("capp").
CAP_LOCK = 0x63617070


def claimable(session: Session, now: datetime, limit: int) -> list[int]:
    """Ids of up to `limit` messages that may go now: journeys' and transactional ones, and
    running campaigns' within their throttle. Each source is read along its own index range."""
    table = EngageMessage.__table__
    postgres = session.get_bind().dialect.name == "postgresql"
    running = session.execute(
        select(EngageCampaign.id, EngageCampaign.throttle_per_second, EngageCampaign.throttle_until)
        .where(EngageCampaign.state == "running")
        .order_by(EngageCampaign.id)
    ).all()
    sources: list[tuple[int | None, int | None, datetime | None]] = [(None, None, None)]
    sources += [(row.id, row.throttle_per_second, row.throttle_until) for row in running]
    taken: list[int] = []
    for campaign_id, rate, until in sources:
        room = limit - len(taken)
        if room <= 0:
            break
        slot = max(until or now, now)
        if rate:
            if slot >= now + timedelta(seconds=1):
                continue  # this campaign's second is used up
            room = min(
                room, max(1, int(rate * (now + timedelta(seconds=1) - slot).total_seconds()))
            )
        found: list[int] = []
        for state in ("queued", "delayed"):
            if len(found) >= room:
                break
            owner = (
                table.c.campaign_id.is_(None)
                if campaign_id is None
                else table.c.campaign_id == campaign_id
            )
            query = (
                select(table.c.id)
                .where(owner, table.c.state == state, table.c.send_after <= now)
                .order_by(table.c.send_after)
                .limit(room - len(found))
            )
            if postgres:
                query = query.with_for_update(skip_locked=True)
            found += session.scalars(query).all()
        if rate and found:
            session.execute(
                update(EngageCampaign)
                .where(EngageCampaign.id == campaign_id)
                .values(throttle_until=slot + timedelta(seconds=len(found) / rate))
            )
        taken += found
    return taken


def lock_contacts(session: Session, contact_ids: Sequence[int]) -> None:
    """Hold each contact's cap lock until commit (PostgreSQL; SQLite's one writer already
    serialises). In id order, so two workers cannot wait on each other."""
    if not contact_ids or session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        text(
            "SELECT count(pg_advisory_xact_lock(:space, (x % 2147483647)::int)) "
            "FROM (SELECT x FROM unnest(CAST(:ids AS bigint[])) AS x ORDER BY x OFFSET 0) AS s"
        ),
        {"space": CAP_LOCK, "ids": list(contact_ids)},
    )


def recent_sends(
    session: Session, contact_ids: Sequence[int], since: datetime
) -> dict[int, list[tuple[str, datetime]]]:
    """Each contact's marketing messages that left (or may have) since `since`."""
    found: dict[int, list[tuple[str, datetime]]] = {}
    if not contact_ids:
        return found
    # Only the (contact_id, sent_at) index may answer this. State and category are checked
    # here, not in SQL: while a campaign goes out the planner's statistics still see few
    # `sent` rows and chose the state index, reading every sent message for each batch
    # (1.7 s a batch of 400 on PostgreSQL at 150,000 sent).
    for batch in chunked(list(contact_ids), 2000):
        query = (
            select(
                EngageMessage.contact_id,
                EngageChannel.kind,
                EngageMessage.sent_at,
                EngageMessage.state,
                EngageMessage.category,
            )
            .join(EngageChannel, EngageChannel.id == EngageMessage.channel_id)
            .where(
                one_of(session, EngageMessage.contact_id, batch),
                EngageMessage.sent_at >= since,
            )
        )
        for contact_id, kind, sent_at, state, category in session.execute(query):
            if category == "marketing" and state in CAPPED_STATES:
                found.setdefault(contact_id, []).append((kind, sent_at))
    return found


def bulk_update(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """One executemany per shape of row, by primary key, through Core (the ORM's bulk update
    costs more than the database's work at thousands of messages a second)."""
    table = EngageMessage.__table__
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        shapes[tuple(sorted(k for k in row if k != "id"))].append(row)
    for columns, batch in shapes.items():
        statement = (
            table.update()
            .where(table.c.id == bindparam("_id"))
            .values({name: bindparam(f"_{name}") for name in columns})
        )
        session.execute(statement, [{f"_{k}": v for k, v in row.items()} for row in batch])


def suppress(session: Session, rows: list[dict[str, Any]]) -> None:
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(EngageSuppression).on_conflict_do_nothing(
            index_elements=["address_kind", "address"]
        ),
        rows,
    )


def finish_campaigns(session: Session, campaign_ids: set[int | None], *, now: datetime) -> None:
    """Running campaigns with nothing left to send are done."""
    for campaign_id in sorted(i for i in campaign_ids if i is not None):
        left = session.scalar(
            select(EngageMessage.id)
            .where(
                EngageMessage.campaign_id == campaign_id,
                EngageMessage.state.in_(("queued", "delayed", "sending")),
            )
            .limit(1)
        )
        if left is None:
            session.execute(
                update(EngageCampaign)
                .where(EngageCampaign.id == campaign_id, EngageCampaign.state == "running")
                .values(state="done", finished_at=now)
            )


def reap(session: Session, *, now: datetime, dead_after: float) -> int:
    """Mark `unknown` what dead workers were sending; returns how many messages."""
    claimers = session.scalars(
        select(EngageMessage.claimed_by).where(EngageMessage.state == "sending").distinct()
    ).all()
    if not claimers:
        return 0
    dead = liveness.dead_workers(session, list(claimers), now=now, dead_after=dead_after)
    if not dead:
        return 0
    marked = session.execute(
        update(EngageMessage)
        .where(EngageMessage.state == "sending", EngageMessage.claimed_by.in_(dead))
        .values(
            state="unknown",
            reason="the worker sending it stopped; it may or may not have been sent",
        )
    ).rowcount
    campaigns = session.scalars(
        select(EngageMessage.campaign_id)
        .where(EngageMessage.state == "unknown", EngageMessage.claimed_by.in_(dead))
        .distinct()
    ).all()
    finish_campaigns(session, set(campaigns), now=now)
    log.warning("%s messages of stopped workers %s are now unknown", marked, ", ".join(dead))
    return int(marked or 0)
