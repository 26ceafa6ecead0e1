"""The lifetime value routes: a fit queued as a job, the last fit, the holdout check and one
buyer's predictions; refusals as problems, never a 500."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.analytics.clv import service
from siyu.analytics.clv.tasks import CLV_FIT_JOB
from siyu.worker.models import Job
from tests.analytics.clv.pool import buyers
from tests.api.conftest import Api, assert_problem


def test_lifetime_value_over_the_api(api: Api, session: Session) -> None:
    assert api.ok("GET", "/api/v1/clv", scope="read") == {"fit": None}
    assert_problem(api.post("/api/v1/clv/fit", scope="read"), 403, "scope")
    assert_problem(api.get("/api/v1/clv/holdout?until=2025-05-01", scope="read"), 422,
                   "no purchase placed")  # fmt: skip
    queued = api.ok("POST", "/api/v1/clv/fit", 202, scope="write",
                    json={"until": "2025-09-30", "unit": "day"})  # fmt: skip
    assert queued["kind"] == CLV_FIT_JOB and queued["state"] == "queued"
    job = session.execute(select(Job).where(Job.id == queued["job_id"])).scalar_one()
    assert job.payload == {"unit": "day", "until": "2025-09-30"}
    assert api.ok("POST", "/api/v1/clv/fit", 202, scope="write")["unit"] == "week"
    assert_problem(api.post("/api/v1/clv/fit", scope="write", json={"unit": "month"}), 422)
    assert_problem(api.post("/api/v1/clv/fit", scope="write", json={"until": "2999-01-01"}),
                   422, "future")  # fmt: skip

    ids = buyers(session, 30)
    assert_problem(api.get(f"/api/v1/contacts/{ids[0]}/clv", scope="read"), 404,
                   "no lifetime value")  # fmt: skip
    assert_problem(api.get("/api/v1/contacts/999999/clv", scope="read"), 404)
    # What the worker does with the job (run in tests/analytics/clv/test_cli_and_job.py).
    service.fit(session, until=date(2025, 9, 30), unit="week")
    last = api.ok("GET", "/api/v1/clv", scope="read")["fit"]
    assert last["customers"] == 30 and last["repeat_buyers"] == 20 and last["unit"] == "week"
    assert set(last["bgnbd"]) == {"r", "alpha", "a", "b", "log_likelihood"}
    mine = api.ok("GET", f"/api/v1/contacts/{ids[1]}/clv", scope="read")
    assert mine["contact_id"] == ids[1] and 0 < mine["p_alive"] <= 1
    assert {"expected_purchases", "expected_spend", "clv", "fitted_at"} <= set(mine)
    check = api.ok("GET", "/api/v1/clv/holdout?until=2025-04-30&holdout_end=2025-09-30",
                   scope="read")  # fmt: skip
    assert [row["frequency"] for row in check["rows"]][-1] == "7+"
    assert check["calibration_end"] == "2025-04-30"
