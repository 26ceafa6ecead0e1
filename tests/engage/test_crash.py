"""The crash test: a 10,000-recipient campaign to a real SMTP server on loopback, with the
worker killed by SIGKILL three times mid-send and started again each time.

Every recipient ends with exactly one message. Messages in flight at a kill become `unknown`
and are not sent again; so nobody gets the campaign twice, nothing sent goes unrecorded, and
no contact is sent more than the frequency cap allows.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, insert, select

from siyu.contacts.models import Contact, ContactConsent, ContactIdentity
from siyu.db.session import get_engine, unit_of_work
from siyu.db.types import utcnow
from siyu.engage import campaigns, channel_service
from siyu.engage.dispatch import MAX_IN_FLIGHT
from siyu.engage.models import EngageMessage
from siyu.kit.actor import Actor

RECIPIENTS = 10_000
KILLS = 3
ROOT = Path(__file__).resolve().parents[2]


class Inbox:
    """aiosmtpd handler: who got how many messages."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.guard = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.guard:
            for address in envelope.rcpt_tos:
                self.received[address.lower()] += 1
        return "250 OK"

    def total(self) -> int:
        with self.guard:
            return sum(self.received.values())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def _pool(count: int) -> None:
    """`count` contacts with an email address and email consent, written in bulk."""
    now = utcnow()
    with get_engine().begin() as connection:
        start = connection.scalar(select(func.coalesce(func.max(Contact.id), 0))) + 1
        ids = range(start, start + count)
        connection.execute(
            insert(Contact),
            [{"id": i, "name": f"顾客{i}", "traits": {}, "created_at": now, "updated_at": now}
             for i in ids],
        )  # fmt: skip
        connection.execute(
            insert(ContactIdentity),
            [{"contact_id": i, "kind": "email", "value": f"c{i}@example.com", "created_at": now}
             for i in ids],
        )  # fmt: skip
        connection.execute(
            insert(ContactConsent),
            [{"contact_id": i, "channel": "email", "granted": True, "recorded_at": now}
             for i in ids],
        )  # fmt: skip


def _worker(url: str, log: Path) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "SIYU_DATABASE_URL": url,
        "SIYU_SECRET_KEY": "test-session-key",
        # Time of day must not decide the test: quiet hours have tests of their own.
        "SIYU_QUIET_HOURS": "",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "siyu.cli.main", "worker"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        # A file, not a pipe: a worker with much to say must never block on a full pipe.
        stderr=log.open("ab"),
    )


def _sent() -> int:
    with unit_of_work() as session:
        return int(
            session.scalar(
                select(func.count()).where(EngageMessage.state == "sent")
            ) or 0
        )  # fmt: skip


def _wait(
    condition: Any, seconds: float, what: str, worker: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if worker.poll() is not None:
            raise AssertionError(
                f"the worker exited ({worker.returncode}): "
                f"{worker.stderr.read().decode()[-2000:] if worker.stderr else ''}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_killing_the_worker_mid_send_loses_nothing_and_sends_nothing_twice(
    database_url: str, inbox: tuple[Inbox, int], tmp_path: Path
) -> None:
    handler, port = inbox
    log = tmp_path / "worker.log"
    _pool(RECIPIENTS)
    with unit_of_work() as session:
        channel = channel_service.add_channel(
            session, actor=Actor.cli(), kind="email", name="smtp",
            config={"host": "127.0.0.1", "port": port, "tls": "none",
                    "from_address": "shop@example.com"},
        )  # fmt: skip
        campaign = campaigns.create_campaign(
            session, actor=Actor.cli(), name="crash", channel=channel, query="order_count >= 0",
            variants=[{"subject": "{{ name }}，上新了", "body": "你好 {{ unsubscribe_url }}"}],
        )  # fmt: skip
        campaign_id = campaign.id
        campaigns.start(session, actor=Actor.cli(), campaign=campaign)

    # Kill points spread over the send: after about a fifth, a half and four fifths.
    for share in (0.2, 0.5, 0.8):
        worker = _worker(database_url, log)
        try:
            _wait(
                lambda share=share: _sent() >= RECIPIENTS * share, 240, f"{share:.0%}", worker, log
            )
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(30)
    worker = _worker(database_url, log)
    try:

        def finished() -> bool:
            with unit_of_work() as session:
                return campaigns.get_campaign(session, campaign_id).state == "done"

        _wait(finished, 240, "the campaign to finish", worker, log)
    finally:
        worker.send_signal(signal.SIGTERM)  # graceful this time
        assert worker.wait(60) == 0

    with unit_of_work() as session:
        rows = session.execute(
            select(EngageMessage.contact_id, EngageMessage.state, EngageMessage.address).where(
                EngageMessage.campaign_id == campaign_id
            )
        ).all()
    assert len(rows) == RECIPIENTS  # every recipient has a message
    assert len({row.contact_id for row in rows}) == RECIPIENTS  # exactly one each
    states = Counter(row.state for row in rows)
    assert set(states) <= {"sent", "unknown"}, states
    # Only messages in flight at a kill are unknown: at most two claimed batches per kill.
    assert states["unknown"] <= KILLS * MAX_IN_FLIGHT
    received = handler.received
    assert max(received.values()) == 1  # nobody got the campaign twice
    for row in rows:
        if row.state == "sent":  # nothing the database calls sent went missing
            assert received[row.address] == 1, row
    # What arrived is what was sent, plus some of the unknown ones (they left before the kill).
    assert states["sent"] <= handler.total() <= states["sent"] + states["unknown"]
    with unit_of_work() as session:
        most = session.scalar(
            select(func.count())
            .where(EngageMessage.state.in_(("sent", "unknown", "sending")))
            .group_by(EngageMessage.contact_id)
            .order_by(func.count().desc())
            .limit(1)
        )
    assert most == 1  # the cap (2 in 7 days) was never exceeded
