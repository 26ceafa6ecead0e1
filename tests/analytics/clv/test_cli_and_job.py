"""`siyu clv …` errors as one line (exit 1, no traceback), and the fit job: queued on demand,
due weekly, skipping a pool it cannot fit when it runs on schedule."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from typer.testing import CliRunner

from siyu.analytics.clv import service
from siyu.analytics.clv.models import ClvPrediction
from siyu.analytics.clv.tasks import CLV_FIT_JOB
from siyu.cli.main import app
from siyu.db.session import get_engine, unit_of_work
from siyu.db.types import utcnow
from siyu.kit.actor import Actor
from siyu.worker import runner
from siyu.worker.models import Job
from siyu.worker.queue import enqueue
from siyu.worker.scheduler import PERIODIC, enqueue_due
from tests.analytics.clv.pool import buyers

cli = CliRunner()


def one_line_error(args: list[str], *needles: str) -> None:
    result = cli.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_bad_input_is_one_line(database_url: str) -> None:
    one_line_error(["clv", "fit", "--until", "2025-09-30"], "no purchase placed on or before")
    one_line_error(["clv", "fit", "--unit", "month"], "unknown unit 'month'")
    one_line_error(["clv", "fit", "--until", "30/09/2025"], "--until", "not a date")
    one_line_error(["clv", "show", "1"], "contact")
    with unit_of_work() as session:
        ids = buyers(session, 24)
    one_line_error(["clv", "fit", "--until", "2024-12-31"], "on or before 2024-12-31")
    one_line_error(["clv", "show", str(ids[0])], "no lifetime value", "siyu clv fit")
    one_line_error(["clv", "holdout", "--until", "2026-01-01", "--holdout-end", "2025-01-01"],
                   "must be before")  # fmt: skip
    done = cli.invoke(app, ["clv", "fit", "--until", "2025-09-30"])
    assert done.exit_code == 0 and "fitted 24 buyers (16 repeat)" in done.stdout
    shown = cli.invoke(app, ["clv", "show", str(ids[1])])
    assert shown.exit_code == 0 and "P(alive)" in shown.stdout and "CLV (12 months)" in shown.stdout
    table = cli.invoke(app, ["clv", "holdout", "--until", "2025-04-30", "--holdout-end",
                             "2025-09-30"])  # fmt: skip
    assert table.exit_code == 0 and "7+" in table.stdout


def test_the_job_fits_on_demand_and_weekly(database_url: str) -> None:
    assert PERIODIC[CLV_FIT_JOB] == timedelta(days=7)
    with unit_of_work() as session:
        scheduled = enqueue(session, kind=CLV_FIT_JOB, payload={"scheduled_at": "x"},
                            created_by="scheduler").id  # fmt: skip
    assert runner.run_once(get_engine())
    with unit_of_work() as session:
        job = session.get(Job, scheduled)
        assert job is not None and job.state == "done"
        assert "no purchase placed" in job.result["skipped"]
        ids = buyers(session, 24)
        asked = service.request_fit(session, actor=Actor.cli(), unit="day")
        assert asked["kind"] == CLV_FIT_JOB and asked["unit"] == "day"
    assert runner.run_once(get_engine())
    with unit_of_work() as session:
        job = session.get(Job, asked["job_id"])
        assert job is not None and job.state == "done", job.result
        assert job.result["customers"] == 24 and job.result["repeat_buyers"] == 16
        stored = set(session.execute(select(ClvPrediction.contact_id)).scalars())
        assert stored == set(ids)
        # A fit just ran: the next weekly one is not due for a week.
        assert CLV_FIT_JOB not in enqueue_due(session, now=utcnow())
        assert CLV_FIT_JOB in enqueue_due(session, now=utcnow() + timedelta(days=8))
