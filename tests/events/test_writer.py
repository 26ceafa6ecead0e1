"""The event writer: requests waiting together share one transaction, each answered alone.

A paused writer holds its first group until told to go on, so the requests sent meanwhile are
all waiting when it next looks, and are written as one group.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from siyu.api.app import create_app
from siyu.contacts.models import Contact, ContactAlias, ContactIdentity
from siyu.db.session import get_engine
from siyu.db.types import utcnow
from siyu.errors import Unauthorized
from siyu.events import service
from siyu.events.intake import BadRequest, read_request
from siyu.events.writer import Unavailable, Writer
from tests.events.conftest import LiveServer, Source, basic, events, in_session, make_source

BAD_KEY = "sywk_wrongwrongwrongwrong"


def on_a_loop_of_its_own(coroutine: Any) -> Any:
    """Run a coroutine in a thread of its own: another suite (the browser's) may have left an
    event loop running in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def prepared(*calls: dict[str, Any]) -> service.Prepared:
    now = utcnow()
    messages = read_request({"batch": list(calls)}, kind="batch", received_at=now)
    return service.prepare(messages, received_at=now, dialect=get_engine().dialect.name)


def track(message_id: str, user: str = "u", **extra: Any) -> dict[str, Any]:
    return {"type": "track", "userId": user, "event": "e", "messageId": message_id, **extra}


class Paused:
    """A writer whose first group waits for `go`; `groups` are the sizes it wrote."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, **options: Any) -> None:
        self.writer = Writer(grouped=True, **options)
        self.groups: list[int] = []
        self.holding = threading.Event()
        self.gate = threading.Event()
        write = self.writer._write

        def paused_write(engine: Any, group: list[Any]) -> None:
            self.groups.append(len(group))
            if len(self.groups) == 1:
                self.holding.set()
                self.gate.wait(30)
            write(engine, group)

        monkeypatch.setattr(self.writer, "_write", paused_write)

    def start(self, key: str) -> Future[int]:
        """Send a first request and wait until the writer holds it."""
        answer = self.writer.submit(key, prepared(track("first")))
        assert self.holding.wait(30)
        return answer

    def go(self) -> None:
        self.gate.set()


def test_waiting_requests_share_a_group_and_fail_alone(
    source: Source, monkeypatch: pytest.MonkeyPatch
) -> None:
    paused = Paused(monkeypatch)
    first = paused.start(source.key)
    # Five requests that each carry "shared": the first of them stores it, as one by one.
    answers = [
        paused.writer.submit(source.key, prepared(track(f"m{i}"), track("shared")))
        for i in range(5)
    ]
    # Another source's "shared" is its own event.
    other = paused.writer.submit(make_source("小程序").key, prepared(track("shared")))
    bad_key = paused.writer.submit(BAD_KEY, prepared(track("k1")))
    nul = paused.writer.submit(source.key, prepared(track("n1", properties={"note": "a\x00b"})))
    # A NUL in a message already stored is a duplicate, skipped, not a refusal.
    nul_duplicate = paused.writer.submit(
        source.key, prepared(track("m0", properties={"note": "a\x00b"}))
    )
    paused.go()
    assert first.result(30) == 1
    assert [answer.result(30) for answer in answers] == [2, 1, 1, 1, 1]
    assert other.result(30) == 1
    with pytest.raises(Unauthorized):
        bad_key.result(30)
    with pytest.raises(BadRequest):
        nul.result(30)
    assert nul_duplicate.result(30) == 0
    assert paused.groups == [1, 9]  # everything that waited went in one transaction
    stored = [e.message_id for e in events()]
    assert sorted(stored) == ["first", "m0", "m1", "m2", "m3", "m4", "shared", "shared"]
    paused.writer.stop()


def test_a_group_is_bounded_by_its_events(source: Source, monkeypatch: pytest.MonkeyPatch) -> None:
    paused = Paused(monkeypatch, max_events=250)
    first = paused.start(source.key)
    answers = [
        paused.writer.submit(source.key, prepared(*(track(f"r{r}-{i}") for i in range(100))))
        for r in range(5)
    ]
    paused.go()
    assert first.result(30) == 1
    assert [answer.result(30) for answer in answers] == [100] * 5
    assert paused.groups == [1, 2, 2, 1]
    assert len(events()) == 501
    paused.writer.stop()


# Calls whose identities only join up through each other: written as one group, the alias
# must see the user id the track before it claimed, as it would had they come one by one.
PEOPLE = [
    track("p1", user="old-user"),
    {"type": "alias", "previousId": "old-user", "userId": "new-user", "messageId": "p2"},
    {"type": "track", "anonymousId": "anon-1", "event": "Viewed", "messageId": "p3"},
    {
        "type": "identify",
        "anonymousId": "anon-1",
        "userId": "new-user",
        "traits": {"name": "甲", "email": "jia@example.com"},
        "messageId": "p4",
    },
    {"type": "identify", "userId": "new-user", "traits": {"name": "乙"}, "messageId": "p5"},
]


@pytest.mark.parametrize("together", [True, False], ids=["one-group", "one-by-one"])
def test_identities_resolve_as_if_sent_one_by_one(
    source: Source, monkeypatch: pytest.MonkeyPatch, together: bool
) -> None:
    paused = Paused(monkeypatch)
    first = paused.start(source.key)
    if together:
        answers = [paused.writer.submit(source.key, prepared(call)) for call in PEOPLE]
        paused.go()
    else:
        paused.go()
        answers = []
        for call in PEOPLE:
            answers.append(paused.writer.submit(source.key, prepared(call)))
            answers[-1].result(30)
    first.result(30)
    assert [answer.result(30) for answer in answers] == [1] * len(PEOPLE)
    if together:
        assert paused.groups == [1, len(PEOPLE)]

    def people(session):  # type: ignore[no-untyped-def]
        rows = session.execute(select(ContactIdentity.contact_id, ContactIdentity.kind)).all()
        contacts = session.execute(select(Contact)).scalars().all()
        aliases = dict(session.execute(select(ContactAlias.old_id, ContactAlias.contact_id)).all())
        return rows, contacts, aliases

    rows, contacts, aliases = in_session(people)
    person = next(c for c in contacts if c.source == "events" and c.name)
    held = {kind for contact_id, kind in rows if contact_id == person.id}
    assert {"external_id", "anonymous_id", "email"} <= held
    # old-user, new-user, anon-1 and the email are one person, created once ("u" is another).
    assert sum(1 for c in contacts if c.source == "events") == 2
    assert (person.name, person.traits["name"]) == ("甲", "乙")
    # An event keeps the contact it was stored for; a merged one's id leads to the survivor.
    stored_for = {e.contact_id for e in events() if e.message_id.startswith("p")}
    assert {aliases.get(c, c) for c in stored_for} == {person.id}
    paused.writer.stop()


def test_a_request_that_breaks_the_group_fails_alone(
    source: Source, monkeypatch: pytest.MonkeyPatch
) -> None:
    paused = Paused(monkeypatch)
    first = paused.start(source.key)
    broken = prepared(track("broken"))
    broken.rows[0] = (None, *broken.rows[0][1:])  # an event without a type: NOT NULL fails
    good = [paused.writer.submit(source.key, prepared(track(f"g{i}"))) for i in range(3)]
    bad = paused.writer.submit(source.key, broken)
    paused.go()
    assert first.result(30) == 1
    assert [answer.result(30) for answer in good] == [1, 1, 1]
    with pytest.raises(IntegrityError):
        bad.result(30)
    assert sorted(e.message_id for e in events()) == ["first", "g0", "g1", "g2"]
    paused.writer.stop()


def test_stopping_writes_everything_queued(source: Source, monkeypatch: pytest.MonkeyPatch) -> None:
    paused = Paused(monkeypatch)
    first = paused.start(source.key)
    queued = [paused.writer.submit(source.key, prepared(track(f"q{i}"))) for i in range(4)]
    stopping = threading.Thread(target=paused.writer.stop)
    stopping.start()
    deadline = time.monotonic() + 30
    while True:  # once stopping has begun, new requests are told to come back
        try:
            paused.writer.submit(source.key, prepared(track("late"))).cancel()
        except Unavailable:
            break
        assert time.monotonic() < deadline
        time.sleep(0.01)
    paused.go()
    stopping.join(30)
    assert not stopping.is_alive()
    assert first.result(30) == 1
    assert [answer.result(30) for answer in queued] == [1] * 4
    assert sorted(e.message_id for e in events()) == ["first", "q0", "q1", "q2", "q3"]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_writer_that_dies_answers_by_timeout_and_restarts(
    source: Source, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = Writer(wait_seconds=0.5, grouped=True)
    write = writer._write

    def die(engine: Any, group: list[Any]) -> None:
        raise SystemExit  # ends the thread without answering anyone

    monkeypatch.setattr(writer, "_write", die)
    with pytest.raises(Unavailable):
        on_a_loop_of_its_own(writer.write(source.key, prepared(track("lost"))))
    monkeypatch.setattr(writer, "_write", write)
    # A new thread opens its own engine first, which a loaded machine can take seconds over.
    writer.wait_seconds = 60
    # The next request starts a new thread, which writes it and the one still queued, if any.
    assert on_a_loop_of_its_own(writer.write(source.key, prepared(track("next")))) == 1
    writer.stop()
    assert "next" in [e.message_id for e in events()]


def test_many_clients_at_once_through_a_live_server(source: Source) -> None:
    def client(number: int) -> list[int]:
        statuses = []
        with httpx.Client(base_url=server.url, headers=basic(source.key), timeout=60) as http:
            for round_ in range(5):
                # Each batch has ids of its own and ids every client sends in the same round.
                batch = [track(f"c{number}-{round_}-{i}") for i in range(10)]
                batch += [track(f"shared-{round_}-{i}") for i in range(10)]
                statuses.append(http.post("/v1/batch", json={"batch": batch}).status_code)
        return statuses

    with LiveServer(create_app()) as server, ThreadPoolExecutor(8) as pool:
        results = list(pool.map(client, range(8)))
    assert results == [[200] * 5] * 8
    stored = [e.message_id for e in events()]
    assert len(stored) == len(set(stored)) == 8 * 5 * 10 + 5 * 10
    count = in_session(lambda s: s.execute(select(func.count()).select_from(Contact)).scalar())
    assert count == 1  # userId "u" throughout: one person, however the requests were grouped


def test_two_writers_on_one_database_stay_correct(source: Source) -> None:
    """Two writers, as two `siyu serve` processes have, sending the same people at once."""
    writers = [Writer(grouped=True), Writer(grouped=True)]

    def send(writer: Writer, calls: list[dict[str, Any]]) -> None:
        for _ in range(5):
            try:
                writer.submit(source.key, prepared(*calls)).result(60)
                return
            except (IntegrityError, OperationalError):
                continue  # answered 500, which clients send again
        raise AssertionError("still failing after 5 tries")

    jobs = []
    for r in range(20):
        calls = [track(f"w{r}-{i}", user=f"user-{(r * 7 + i) % 15}") for i in range(10)]
        jobs.append((writers[r % 2], [*calls, track(f"dup-{r % 5}", user="user-0")]))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda job: send(*job), jobs))
    for writer in writers:
        writer.stop()
    stored = [e.message_id for e in events()]
    assert len(stored) == len(set(stored)) == 20 * 10 + 5
    count = in_session(lambda s: s.execute(select(func.count()).select_from(Contact)).scalar())
    assert count == 15  # each person created once, whichever writer saw them first
