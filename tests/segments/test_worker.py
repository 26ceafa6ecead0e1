"""Against a live worker, as `siyu serve` runs it: a change reaches the segment by itself."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from siyu.contacts import service as contacts
from siyu.db.session import get_engine, unit_of_work
from siyu.events.models import Event
from siyu.kit.actor import Actor
from siyu.segments import service
from siyu.worker import runner

CLI = Actor.cli()


def test_a_committed_change_fires_segment_entered_without_being_asked(database_url: str) -> None:
    with unit_of_work() as session:
        wang = contacts.create_contact(
            session, actor=CLI, identities=["phone:13800138000"], name="王芳"
        )
        segment = service.create_segment(session, actor=CLI, name="VIP", query='tag("VIP")')
        wang_id, segment_id = wang.id, segment.id
    # Committed before the worker runs: it finds the change by itself, as `siyu serve`'s does.
    with unit_of_work() as session:
        contact = contacts.get_by_ref(session, str(wang_id))
        contacts.add_tags(session, contact=contact, tags=["VIP"], actor=CLI)
    stop = threading.Event()
    worker = threading.Thread(target=runner.run_forever, args=(get_engine(), stop), daemon=True)
    worker.start()
    try:
        found = None
        deadline = time.monotonic() + 30  # a bound for a loaded machine, not a speed target
        while found is None and time.monotonic() < deadline:
            with unit_of_work() as session:
                found = session.scalar(select(Event).where(Event.name == "segment_entered"))
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(10)
    assert found is not None and found.contact_id == wang_id
    assert found.properties["segment_id"] == segment_id
