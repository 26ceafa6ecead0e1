"""`siyu report rfm`, the `rfm` of `siyu contacts show --json`, and the two worker jobs."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select
from typer.testing import CliRunner

from siyu.analytics.tasks import RFM_REFRESH_JOB
from siyu.cli.main import app as cli_app
from siyu.contacts import rollups
from siyu.contacts.models import Contact, ContactIdentity
from siyu.contacts.tasks import LIFECYCLE_SWEEP_JOB
from siyu.db.session import get_engine, unit_of_work
from siyu.db.types import utcnow
from siyu.worker import runner
from siyu.worker.models import Job
from siyu.worker.queue import enqueue
from tests.analytics.test_rfm import contact, order


def seed() -> int:
    with unit_of_work() as session:
        first = None
        for n in range(5):
            person = contact(session, f"c{n}")
            session.add(ContactIdentity(contact_id=person.id, kind="phone", value=f"+86138{n:08d}"))
            order(session, person, utcnow() - timedelta(days=n + 1), 1000 * (n + 1))
            first = first or person.id
        assert first is not None
        session.flush()
        rollups.recompute(session, range(first, first + 5))
        return first


def test_report_rfm_json_and_table(database_url: str) -> None:
    first = seed()
    cli = CliRunner()
    never = cli.invoke(cli_app, ["report", "rfm", "--json"])
    assert never.exit_code == 0, never.output
    assert json.loads(never.stdout)["computed_at"] is None
    assert "never computed" in cli.invoke(cli_app, ["report", "rfm"]).stdout
    shown = json.loads(cli.invoke(cli_app, ["contacts", "show", str(first), "--json"]).stdout)
    assert shown["rfm"] is None

    done = cli.invoke(cli_app, ["report", "rfm", "--refresh", "--json"])
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert data["contacts"] == 5 and data["window_days"] == 365
    assert sum(c["contacts"] for c in data["grid"]) == 5
    assert [s["segment"] for s in data["segments"]][-1] == "others"
    table = cli.invoke(cli_app, ["report", "rfm"])
    assert table.exit_code == 0 and "Champions" in table.stdout and "冠军客户" in table.stdout

    shown = json.loads(cli.invoke(cli_app, ["contacts", "show", str(first), "--json"]).stdout)
    assert set(shown["rfm"]) == {"r", "f", "m", "score", "segment"}
    assert shown["rfm"]["r"] == 5  # the most recent buyer
    assert (
        shown["rfm"]["score"]
        == 100 * shown["rfm"]["r"] + 10 * shown["rfm"]["f"] + (shown["rfm"]["m"])
    )
    assert shown["lifecycle_stage"] == "new_customer"
    assert [h["to_stage"] for h in shown["lifecycle_history"]] == ["new_customer"]


def test_the_jobs_refresh_rfm_and_sweep_stages(database_url: str) -> None:
    seed()
    later = (utcnow() + timedelta(days=400)).isoformat()
    with unit_of_work() as session:
        rfm_job = enqueue(session, kind=RFM_REFRESH_JOB, payload={}, created_by="test").id
        sweep_job = enqueue(
            session, kind=LIFECYCLE_SWEEP_JOB, payload={"now": later}, created_by="test"
        ).id
    assert runner.run_once(get_engine()) and runner.run_once(get_engine())
    with unit_of_work() as session:
        done = {job.id: job for job in session.execute(select(Job)).scalars()}
        assert done[rfm_job].state == "done" and done[rfm_job].result["scored"] == 5
        assert done[sweep_job].state == "done" and done[sweep_job].result == {"moved": 5}
        stages = set(session.execute(select(Contact.lifecycle_stage)).scalars())
        assert stages == {"churned"}
