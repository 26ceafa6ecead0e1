"""The dispatcher: takes queued messages, applies the rules, sends, records what happened.

One batch goes through three transactions:

1. **claim** — pick sendable messages (FOR UPDATE SKIP LOCKED on PostgreSQL, so workers never
   pick the same ones), lock their contacts, then decide each: suppressed (no address, a
   suppressed address, no consent, over a frequency cap), delayed (quiet hours), failed (the
   template cannot render) or `sending`. Caps are counted while the contacts are locked, so two
   workers can never both send a contact's last allowed message.
2. **send** — outside any transaction, through one open channel per kind of channel.
3. **record** — every few dozen messages: sent, failed (with the provider's reason), or queued
   again with exponential backoff for a transient error.

A worker killed between 1 and 3 leaves messages in `sending`; once its heartbeat stops, `reap`
marks them `unknown` — they may have left — and nothing sends them again unless an operator
asks (campaigns.resend_unknown).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from siyu.config import Settings, get_settings
from siyu.db.session import session_factory, writing
from siyu.db.types import utcnow
from siyu.engage import message_queue, recipients, rules, templates, tokens
from siyu.engage.channels import registry
from siyu.engage.channels.base import Capabilities, Channel, Delivery, Outgoing
from siyu.engage.models import (
    EngageChannel,
    EngageContent,
    EngageMessage,
)
from siyu.errors import Invalid
from siyu.worker import liveness
from siyu.worker.queue import WORKER_NAME

log = logging.getLogger(__name__)

BATCH = 400  # messages claimed at once
# A batch is sent while the next is claimed: the most a kill can leave `unknown`.
MAX_IN_FLIGHT = 2 * BATCH
RECORD_EVERY = 100  # results written this often, so statistics follow the send
MAX_ATTEMPTS = 5  # transient failures retried before the message fails for good
REAP_EVERY = 10.0


@dataclass
class Decision:
    message_id: int
    values: dict[str, Any]


@dataclass
class Ready:
    """A message marked `sending`, rendered, waiting for its channel."""

    message_id: int
    channel_id: int
    campaign_id: int | None
    attempts: int
    address_kind: str | None
    outgoing: Outgoing


@dataclass
class _OpenChannel:
    updated_at: datetime | None
    plugin: Channel
    opened: bool = False


@dataclass
class Dispatcher:
    engine: Engine
    name: str = WORKER_NAME
    batch: int = BATCH
    clock: Callable[[], datetime] = utcnow
    settings: Settings = field(default_factory=get_settings)
    # Sender threads, each with its own connection: they wait on the provider in parallel.
    connections: int | None = None  # default: SIYU_SEND_CONNECTIONS
    _reaped_at: float = 0.0
    _heartbeat: liveness.Heartbeat | None = None

    def __post_init__(self) -> None:
        self.policy = rules.Policy.from_settings(self.settings)
        self.make = session_factory(writing(self.engine))
        self.connections = self.connections or self.settings.send_connections
        self._pool = ThreadPoolExecutor(self.connections, thread_name_prefix="siyu-send")
        self._batches: list[list[Future[None]]] = []
        self._local = threading.local()
        self._guard = threading.Lock()
        # This process's writers take turns here rather than in SQLite's busy handler, which
        # sleeps in growing steps and would leave the senders idle long after the lock is free.
        self._writing = threading.Lock()
        self._all_open: list[_OpenChannel] = []

    # --- the loop's one call -------------------------------------------------------------

    def run_once(self) -> int:
        """Claim one batch and hand it to the senders; returns how many messages it settled
        or handed over (0: nothing to do). While the senders wait on the provider, the next
        call claims and writes the next batch: at most two batches are out at once."""
        self._housekeeping()
        self._wait_for(outstanding=1)
        with self._writing, self.make() as session, session.begin():
            ready, settled = self.claim(session)
        if ready:
            self._batches.append(self.send(ready))
        return settled + len(ready)

    def writing(self) -> AbstractContextManager[Any]:
        """A turn at writing for the worker's other work (jobs, pollers, the scheduler). On
        SQLite this process's writers queue here: outside the queue, a writer waiting in
        SQLite's busy handler was starved past its 30 s timeout by the senders' records."""
        if self.engine.dialect.name == "sqlite":
            return self._writing
        return nullcontext()

    def wait(self) -> None:
        """Until every batch handed to the senders is sent and recorded."""
        self._wait_for(outstanding=0)

    def _wait_for(self, *, outstanding: int) -> None:
        while len(self._batches) > outstanding:
            for future in self._batches.pop(0):
                try:
                    future.result()
                except Exception:  # recorded nothing: `reap` settles those messages
                    log.exception("sending a batch failed")

    def close(self) -> None:
        """Finish what is being sent (a graceful stop), close the channels, leave."""
        self.wait()
        self._pool.shutdown(wait=True)
        with self._guard:
            for held in self._all_open:
                if held.opened:
                    try:
                        held.plugin.close()
                    except Exception:
                        log.exception("closing a channel")
            self._all_open.clear()
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None

    def _housekeeping(self) -> None:
        if self._heartbeat is None:
            self._heartbeat = liveness.Heartbeat(self.engine, self.name, self.clock)
        moment = time.monotonic()
        if moment - self._reaped_at >= REAP_EVERY:
            self._reaped_at = moment
            dead_after = self.settings.worker_dead_after_seconds
            with self.make() as session, session.begin():
                message_queue.reap(session, now=self.clock(), dead_after=dead_after)
                liveness.requeue_jobs(session, now=self.clock(), dead_after=dead_after)

    # --- 1. claim ------------------------------------------------------------------------

    def claim(self, session: Session) -> tuple[list[Ready], int]:
        now = self.clock()
        ids = message_queue.claimable(session, now, self.batch)
        if not ids:
            return [], 0
        table = EngageMessage.__table__
        messages = session.execute(
            select(
                table.c.id,
                table.c.key,
                table.c.contact_id,
                table.c.content_id,
                table.c.channel_id,
                table.c.category,
                table.c.attempts,
                table.c.campaign_id,
            )
            .where(table.c.id.in_(ids))
            .order_by(table.c.id)
        ).all()
        channels = {
            c.id: c
            for c in session.scalars(
                select(EngageChannel).where(EngageChannel.id.in_({m.channel_id for m in messages}))
            )
        }
        contents = {
            c.id: c
            for c in session.scalars(
                select(EngageContent).where(EngageContent.id.in_({m.content_id for m in messages}))
            )
        }
        contact_ids = [m.contact_id for m in messages]
        marketing = sorted({m.contact_id for m in messages if m.category == "marketing"})
        message_queue.lock_contacts(session, marketing)
        people = recipients.contact_rows(session, contact_ids)
        kinds = {_capabilities_of(c).address_kind for c in channels.values()}
        found = recipients.addresses(
            session, contact_ids, {k for k in kinds if k} | set(recipients.ADDRESS_KINDS)
        )
        consent = recipients.consents(session, marketing)
        blocked = recipients.suppressed(
            session,
            [
                (kind, found[(m.contact_id, kind)])
                for m in messages
                if (kind := _capabilities_of(channels[m.channel_id]).address_kind)
                and (m.contact_id, kind) in found
            ],
        )
        owners = recipients.owners(session, [p.get("owner_id") for p in people.values()])
        tally = message_queue.recent_sends(session, marketing, now - self.policy.longest)
        decisions: list[Decision] = []
        ready: list[Ready] = []
        for message in messages:
            channel = channels[message.channel_id]
            person = people.get(message.contact_id)
            decision, outgoing = self._decide(
                message,
                channel,
                contents[message.content_id],
                person,
                found,
                consent,
                blocked,
                owners,
                tally,
                now,
            )
            decisions.append(decision)
            if outgoing is not None:
                ready.append(
                    Ready(
                        message.id,
                        channel.id,
                        message.campaign_id,
                        message.attempts + 1,
                        _capabilities_of(channel).address_kind,
                        outgoing,
                    )
                )
        _write(session, decisions)
        return ready, len(decisions) - len(ready)

    def _decide(
        self,
        message: Any,
        channel: EngageChannel,
        content: EngageContent,
        person: dict[str, Any] | None,
        found: dict[tuple[int, str], str],
        consent: dict[tuple[int, str], tuple[bool, Any]],
        blocked: set[tuple[str, str]],
        owners: dict[int, dict[str, Any]],
        tally: dict[int, list[tuple[str, datetime]]],
        now: datetime,
    ) -> tuple[Decision, Outgoing | None]:
        def stop(state: str, rule: str | None, reason: str, **more: Any) -> tuple[Decision, None]:
            return Decision(
                message.id, {"state": state, "rule": rule, "reason": reason, **more}
            ), None

        if person is None:  # merged away or deleted since it was queued
            return stop("suppressed", "no_contact", "the contact no longer exists")
        if not channel.enabled:
            return stop(
                "queued",
                None,
                "the channel is switched off; waiting",
                send_after=now + timedelta(minutes=5),
            )
        caps = _capabilities_of(channel)
        address = None
        if caps.address_kind:
            address = found.get((message.contact_id, caps.address_kind))
            if address is None:
                return stop("suppressed", "no_address", f"no {caps.address_kind} on record")
            if (caps.address_kind, address) in blocked:
                return stop(
                    "suppressed",
                    "suppressed_address",
                    f"{address} is on the suppression list",
                    address=address,
                )
        if message.category == "marketing":
            wanted = caps.consent_channel or channel.config.get("consent_channel")
            if not wanted:
                return stop(
                    "suppressed", "no_consent", "the channel names no consent for marketing"
                )
            given = consent.get((message.contact_id, wanted))
            if given is None or not given[0]:
                reason = (
                    f"no {wanted} consent on record"
                    if given is None
                    else f"{wanted} consent withdrawn on {given[1]:%Y-%m-%d}"
                )
                return stop("suppressed", "no_consent", reason, address=address)
            if self.policy.quiet is not None:
                zone = rules.zone_of((person.get("traits") or {}).get("timezone"), self.policy.zone)
                until = self.policy.quiet.next_end(now, zone)
                if until is not None:
                    return stop(
                        "delayed",
                        None,
                        f"quiet hours {self.policy.quiet} ({zone.key})",
                        send_after=until,
                    )
            over = self.policy.over_cap(tally.get(message.contact_id, []), channel.kind, now)
            if over is not None:
                return stop("suppressed", over[0], over[1], address=address)
        try:
            outgoing = _render(message, channel, caps, content, person, owners, found, address)
        except Invalid as error:
            return stop("failed", None, f"the message cannot be written: {error.message}")
        plugin = self._instance(channel.id, channel.updated_at, channel.kind, channel.config)
        problems = plugin.check(outgoing) if plugin is not None else []
        if problems:
            return stop("failed", None, "; ".join(problems))
        if message.category == "marketing":
            tally.setdefault(message.contact_id, []).append((channel.kind, now))
        return Decision(
            message.id,
            {
                "state": "sending",
                "address": address,
                "sent_at": now,
                "claimed_by": self.name,
                "attempts": message.attempts + 1,
                "rule": None,
                "reason": None,
            },
        ), outgoing

    # --- 2. send, 3. record --------------------------------------------------------------

    def send(self, ready: Sequence[Ready]) -> list[Future[None]]:
        """Hand a claimed batch to the sender threads, in runs of RECORD_EVERY messages of one
        channel; each thread keeps its own connection per channel."""
        by_channel: dict[int, list[Ready]] = defaultdict(list)
        for item in ready:
            by_channel[item.channel_id].append(item)
        return [
            self._pool.submit(self._send_run, channel_id, items[start : start + RECORD_EVERY])
            for channel_id, items in by_channel.items()
            for start in range(0, len(items), RECORD_EVERY)
        ]

    def _send_run(self, channel_id: int, items: Sequence[Ready]) -> None:
        plugin = self._plugin(channel_id)
        results = []
        for item in items:
            if plugin is None:
                delivery = Delivery("retry", reason="the channel could not be opened")
            else:
                delivery = _send_one(plugin, item.outgoing)
            results.append((item, delivery))
        self.record(results)

    def _held(self) -> dict[int, _OpenChannel]:
        """This thread's channels: a connection is never shared between threads."""
        held = getattr(self._local, "held", None)
        if held is None:
            held = self._local.held = {}
        return held

    def _plugin(self, channel_id: int) -> Channel | None:
        """The channel's plugin, open."""
        with self.make() as session:
            channel = session.get(EngageChannel, channel_id)
            if channel is None:
                return None
            updated_at, kind, config = channel.updated_at, channel.kind, dict(channel.config)
        plugin = self._instance(channel_id, updated_at, kind, config)
        held = self._held().get(channel_id)
        if plugin is None or held is None:
            return None
        if not held.opened:
            try:
                held.plugin.open()
                held.opened = True
            except Exception as error:
                log.warning("channel %s could not be opened: %s", channel_id, error)
                return None
        return held.plugin

    def _instance(
        self, channel_id: int, updated_at: datetime | None, kind: str, config: dict[str, Any]
    ) -> Channel | None:
        """The channel's plugin, built once per configuration (a change reconnects)."""
        mine = self._held()
        held = mine.get(channel_id)
        if held is not None and held.updated_at != updated_at:  # reconfigured: reconnect
            if held.opened:
                held.plugin.close()
            held = None
        if held is None:
            try:
                held = _OpenChannel(updated_at, registry.build(kind, config))
            except Invalid as error:
                log.error("channel %s is misconfigured: %s", channel_id, error.message)
                return None
            mine[channel_id] = held
            with self._guard:
                self._all_open.append(held)
        return held.plugin

    def record(self, results: Sequence[tuple[Ready, Delivery]]) -> None:
        now = self.clock()
        rows: list[dict[str, Any]] = []
        bad: list[dict[str, Any]] = []
        for item, delivery in results:
            if delivery.status == "sent":
                rows.append(
                    {
                        "id": item.message_id,
                        "state": "sent",
                        "sent_at": now,
                        "provider_id": delivery.provider_id,
                        "reason": None,
                    }
                )
                continue
            if delivery.status == "retry" and item.attempts < MAX_ATTEMPTS:
                rows.append(
                    {
                        "id": item.message_id,
                        "state": "queued",
                        "sent_at": None,
                        "send_after": now + rules.backoff(item.attempts),
                        "reason": delivery.reason,
                    }
                )
                continue
            reason = delivery.reason or "the provider refused it"
            if delivery.status == "retry":
                reason = f"gave up after {item.attempts} attempts: {reason}"
            rows.append(
                {
                    "id": item.message_id,
                    "state": "failed",
                    "sent_at": None,
                    "reason": reason,
                    "provider_id": delivery.provider_id,
                }
            )
            if delivery.bad_address and item.address_kind and item.outgoing.address:
                bad.append(
                    {
                        "address_kind": item.address_kind,
                        "address": item.outgoing.address,
                        "reason": reason,
                        "source": "bounce",
                        "created_at": now,
                    }
                )
        with self._writing, self.make() as session, session.begin():
            message_queue.bulk_update(session, rows)
            if bad:
                message_queue.suppress(session, bad)
            message_queue.finish_campaigns(
                session, {item.campaign_id for item, _ in results}, now=now
            )


def _capabilities_of(channel: EngageChannel) -> Capabilities:
    return registry.channel_class(channel.kind).capabilities


def _render(
    message: Any,
    channel: EngageChannel,
    caps: Capabilities,
    content: EngageContent,
    person: dict[str, Any],
    owners: dict[int, dict[str, Any]],
    found: dict[tuple[int, str], str],
    address: str | None,
) -> Outgoing:
    row = {
        **person,
        "email": found.get((message.contact_id, "email")),
        "phone": found.get((message.contact_id, "phone")),
    }
    message_id = message.id
    unsubscribe = tokens.unsubscribe_url(message_id)
    context = templates.contact_context(
        row,
        owner=owners.get(person.get("owner_id") or 0),
        defaults=content.defaults or {},
        link=lambda url: tokens.click_url(message_id, str(url)),
        unsubscribe_url=unsubscribe,
    )
    parts = {"body": content.body or ""}
    if caps.subject and content.subject:
        parts["subject"] = content.subject
    for name, value in (content.params or {}).items():
        parts[f"parameter {name}"] = str(value)
    rendered = templates.render_parts(parts, context)
    subject = rendered.get("subject")
    params = {str(name): rendered[f"parameter {name}"] for name in (content.params or {})}
    owner = owners.get(person.get("owner_id") or 0) or {}
    return Outgoing(
        message_id=message_id,
        key=message.key,
        category=message.category,
        contact_id=message.contact_id,
        address=address,
        body=rendered["body"],
        subject=subject,
        template_code=content.template_code,
        params=params,
        unsubscribe_url=unsubscribe if message.category == "marketing" else None,
        extra={
            "sender": owner.get("login"),
            "contact": {
                "id": message.contact_id,
                "name": person.get("name"),
                "email": row["email"],
                "phone": row["phone"],
            },
        },
    )


def _send_one(plugin: Channel, outgoing: Outgoing) -> Delivery:
    try:
        return plugin.send(outgoing)
    except Exception as error:  # a plugin's bug must not stop the campaign; try again later
        log.exception(
            "channel %s raised while sending message %s", plugin.kind, outgoing.message_id
        )
        return Delivery("retry", reason=f"{type(error).__name__}: {error}")


def _write(session: Session, decisions: Sequence[Decision]) -> None:
    message_queue.bulk_update(session, [{"id": d.message_id, **d.values} for d in decisions])
